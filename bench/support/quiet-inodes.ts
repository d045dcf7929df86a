/**
 * Keeps timed runs that create many files away from mass deletions.
 *
 * This machine's ext4 runs without a journal, and then the kernel skips inodes freed in the last
 * 60 s when it allocates new ones (fs/ext4/ialloc.c, recently_deleted). Right after a tree of
 * 1,400-5,000 files was removed, creating the next tree's files cost 0.2-1 ms each instead of
 * about 20 us (strace: openat 185-444 us for tar and pgBackRest alike then, 19 us for pgBackRest
 * on a quiet disk), so a restore was charged for the clean-up of the one before it and the order
 * of the tools decided much of a ratio. Benches keep restored trees until the end where they can,
 * call deleted() after any mass deletion they cannot avoid, and wait() before each timed run
 * that creates files. A restore at 3 a.m. does not follow a mass deletion.
 */
export function quietInodes(log: (message: string) => void, windowMs = 65_000): { deleted(): void; wait(): Promise<void> } {
  let deletedAt = 0;
  return {
    deleted() {
      deletedAt = Date.now();
    },
    async wait() {
      const wait = deletedAt + windowMs - Date.now();
      if (wait <= 0) return;
      log(`  waiting ${(wait / 1000).toFixed(0)} s: inodes freed in the last minute make file creation slow on this disk`);
      await new Promise((r) => setTimeout(r, wait));
    },
  };
}
