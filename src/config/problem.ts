/** One configuration problem: the variable to fix and what is wrong (values never echoed). */
export type Problem = { variable: string; message: string };
