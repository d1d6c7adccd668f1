/**
 * The same allocator settings for both servers under test.
 *
 * glibc's malloc adapts two thresholds to what a process freed before (a freed mmap'd block
 * raises the mmap threshold and the trim threshold with it). A server relaying 1 MiB bodies
 * frees its read buffers by the thousand after each full collection, so depending on its
 * history it either keeps that memory or hands it back to the kernel at the top of its heap
 * and faults it in again: measured here, 1-5 page faults per 1 MiB request in one regime and
 * 47-168 in the other, the same server costing up to twice the CPU per request, and the two
 * servers of a comparison often in different regimes. Fixed thresholds keep both in the first
 * regime, so a ratio compares the code rather than two allocation histories; the "faults/req"
 * column shows which regime a run was in.
 *
 * Set BENCH_MALLOC=default to measure with the system's adaptive settings instead. Ignored by
 * other C libraries (musl reads no GLIBC_TUNABLES).
 */

/** mmap only blocks of 32 MiB or more, and trim the heap top only past 256 MiB free. */
export const STEADY_MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456';

/** Whether the servers under test get {@link STEADY_MALLOC_TUNABLES}. */
export const STEADY_MALLOC = process.env.BENCH_MALLOC !== 'default';

/** Environment for a server process: the steady settings added to any the caller already set. */
export function steadyMallocEnv(): Record<string, string> {
  const own = process.env.GLIBC_TUNABLES;
  return { GLIBC_TUNABLES: own === undefined || own === '' ? STEADY_MALLOC_TUNABLES : `${own}:${STEADY_MALLOC_TUNABLES}` };
}
