import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Reads a small regular file (a secret, a configuration, a CA bundle) as UTF-8, refusing what
 * is not one: a FIFO would block the process for ever, `/dev/zero` or a huge file would fill
 * memory. Opened non-blocking and checked on the open descriptor, so the checked file is the read
 * one. Errors carry a `code` (ENOTREG, EFBIG, or the system's) for the caller's message.
 */
export function readBoundedFile(path: string, maxBytes: number): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREG' });
    if (st.size > maxBytes)
      throw Object.assign(new Error(`${path} is larger than ${maxBytes} bytes`), { code: 'EFBIG' });
    const buf = Buffer.alloc(st.size);
    let read = 0;
    while (read < st.size) {
      const n = readSync(fd, buf, read, st.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buf.toString('utf8', 0, read);
  } finally {
    closeSync(fd);
  }
}

/** Secrets: keys, passwords, PEM private keys. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;
/** Configuration files and CA bundles. */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;
