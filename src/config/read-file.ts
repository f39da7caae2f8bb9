/**
 * Reading the small files configuration comes from (the config file, token and secret files, the
 * Spot.io credentials file) without hanging on a FIFO or a device and without swallowing a huge file.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Stats } from 'node:fs';

/** Largest config, token, secret or credentials file we read; a real one is a few kB. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** Why a file was refused before or while reading it; `code` is `ENOTREG` or `EFBIG`. */
export class UnreadableFileError extends Error {
  readonly code: 'ENOTREG' | 'EFBIG';
  constructor(message: string, code: 'ENOTREG' | 'EFBIG') {
    super(message);
    this.name = 'UnreadableFileError';
    this.code = code;
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a plain file';
}

/** `1.5 MiB`, `300 kB`-style size for messages. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Number((n / (1024 * 1024)).toFixed(1))} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} bytes`;
}

/**
 * Reads a regular file as UTF-8, at most `maxBytes`. The file is opened non-blocking and checked with
 * fstat before anything is read, so a FIFO, a device or a directory is refused instead of blocking.
 * @throws UnreadableFileError (`ENOTREG`, `EFBIG`) or the fs error (`ENOENT`, `EACCES`, …).
 */
export function readRegularFile(path: string, maxBytes = MAX_CONFIG_FILE_BYTES): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnreadableFileError(`not a regular file (${kindOf(st)})`, 'ENOTREG');
    const tooBig = () =>
      new UnreadableFileError(
        `is larger than ${formatBytes(maxBytes)}${st.size > maxBytes ? ` (${formatBytes(st.size)})` : ''}`,
        'EFBIG',
      );
    if (st.size > maxBytes) throw tooBig();
    // The file may grow between fstat and read: read at most one byte more than allowed.
    const buf = Buffer.alloc(maxBytes + 1);
    let len = 0;
    while (len < buf.length) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
    }
    if (len > maxBytes) throw tooBig();
    return buf.subarray(0, len).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The short reason for a failed read: our own message, else the fs error code (never file content). */
export function readFailure(err: unknown): string {
  if (err instanceof UnreadableFileError) return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : String((err as Error | undefined)?.message ?? err);
}
