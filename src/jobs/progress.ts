/**
 * How jobs tell the world what they are doing. The CLI turns reports into a progress bar or log
 * lines; the Slack bot into throttled message updates. Every callback is optional and must be
 * cheap: jobs call `bytes` for every chunk they stream.
 */
export interface ProgressReporter {
  /** A new phase started ("dumping", "uploading", "writing manifest"...). */
  phase?(name: string, detail?: string): void;
  /** Bytes processed so far in the current phase, and the total when known. */
  bytes?(done: number, total?: number): void;
  /** Something worth telling a person that is not an error (e.g. "backup is not encrypted"). */
  warn?(message: string): void;
}

export const silentReporter: ProgressReporter = {};
