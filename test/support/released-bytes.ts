/** Counts the memory that forward/release-chunk.ts gives back, for tests of the release. */

/** What `run` resolved with, and the bytes of every ArrayBuffer detached by `transfer` in this process while it ran. */
export async function releasedBytesDuring<T>(run: () => Promise<T>): Promise<{ result: T; released: number }> {
  const transfer = ArrayBuffer.prototype.transfer;
  let released = 0;
  const spy = jest.spyOn(ArrayBuffer.prototype, 'transfer').mockImplementation(function (this: ArrayBuffer, length?: number) {
    released += this.byteLength;
    return transfer.call(this, length);
  });
  try {
    return { result: await run(), released };
  } finally {
    spy.mockRestore();
  }
}
