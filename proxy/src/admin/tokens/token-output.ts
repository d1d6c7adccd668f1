/**
 * Where a new proxy token goes: standard output (the token line alone, so
 * `TOKEN=$(secure-proxy token rotate ...)` captures exactly it), or a file only its owner
 * may read. The file is opened before Vault is changed, so a bad `--out` never leaves a
 * token in Vault that nobody received; symlinks are refused so the token cannot be
 * redirected into another file.
 */
import { constants, type FileHandle, open } from 'node:fs/promises';
import { TokenAdminUsageError } from './errors';

const OWNER_ONLY = 0o600;

/** A place to put the token, ready before Vault is written. */
export interface TokenSink {
  /** Where it went, for the explanation on stderr. */
  readonly description: string;
  deliver(token: string): Promise<void>;
  /** Releases the file without writing (when the Vault write failed). */
  abandon(): Promise<void>;
}

/** Standard output: one line, the token. */
export function stdoutSink(): TokenSink {
  return {
    description: 'standard output',
    deliver: (token) => {
      process.stdout.write(`${token}\n`);
      return Promise.resolve();
    },
    abandon: () => Promise.resolve(),
  };
}

/**
 * Opens `path` for the token: created with mode 0600, or an existing regular file
 * overwritten and set to 0600. O_NOFOLLOW makes the open itself refuse a symlink, with no
 * window between a check and the open.
 */
export async function fileSink(path: string): Promise<TokenSink> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, OWNER_ONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new TokenAdminUsageError(`--out ${path} is a symbolic link; refusing to write a token through it`);
    throw new TokenAdminUsageError(`--out ${path} cannot be opened for writing (${code ?? 'unknown error'})`);
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    throw new TokenAdminUsageError(`--out ${path} is not a regular file`);
  }
  // An existing file keeps its mode on open; the token must not be readable by others.
  await handle.chmod(OWNER_ONLY);
  return {
    description: path,
    async deliver(token) {
      try {
        // Truncated only now, so a failed Vault write leaves the previous content alone.
        await handle.truncate(0);
        await handle.write(`${token}\n`, 0);
      } finally {
        await handle.close();
      }
    },
    abandon: () => handle.close(),
  };
}
