/**
 * Reading Password Safe lists in few sequential round trips. Pages after the first are fetched
 * together (the caller's fetch goes through the vault's discovery limiter, which bounds how many
 * run at once); only the first page waits for nothing.
 */

/** Fetches `limit` rows from `offset`. */
export type FetchRows = (offset: number, limit: number) => Promise<unknown[]>;

/** Rows of a page that are in one JS array; `push(...rows)` would overflow the stack for large pages. */
function append(out: unknown[], rows: unknown[]): void {
  for (const r of rows) out.push(r);
}

/**
 * The rest of a list whose size the first page told (`ManagedSystems` with `limit` answers
 * `{TotalCount, Data}`): the remaining rows in at most `parallel` requests of at most
 * `maxPageSize` rows each, all started at once. A list that grew meanwhile is read up to the
 * size it had; the next cache fill sees the rest.
 */
export async function restOfCountedList(
  first: unknown[],
  total: number,
  fetch: FetchRows,
  o: { parallel: number; maxPageSize: number },
): Promise<unknown[]> {
  const remaining = total - first.length;
  if (remaining <= 0 || first.length === 0) return first;
  const size = Math.min(o.maxPageSize, Math.max(first.length, Math.ceil(remaining / o.parallel)));
  const offsets: number[] = [];
  for (let off = first.length; off < total; off += size) offsets.push(off);
  const pages = await Promise.all(offsets.map((off) => fetch(off, size)));
  const out = [...first];
  for (const p of pages) append(out, p);
  return out;
}

/**
 * A list with no total (`ManagedAccounts`): the first page with `first` rows (the documented
 * default page size), then windows of `window` pages of `next` rows fetched together, until a
 * page comes back short. A vault that caps the page size at `first` shows it by answering
 * exactly `first` rows where more were asked before ever answering more; reading then goes on
 * from there in pages of `first`.
 */
export async function uncountedList(
  fetch: FetchRows,
  o: { first: number; next: number; window: number },
): Promise<unknown[]> {
  const out = await fetch(0, o.first);
  if (out.length < o.first) return out;
  let offset = out.length;
  let size = Math.max(o.first, o.next);
  let uncapped = size === o.first;
  for (;;) {
    const start = offset;
    const pages = await Promise.all(Array.from({ length: o.window }, (_, i) => fetch(start + i * size, size)));
    for (const page of pages) {
      append(out, page);
      offset += page.length;
      if (page.length > o.first) uncapped = true;
      if (page.length === size) continue;
      if (uncapped || page.length !== o.first) return out;
      // Capped: the later pages of this window started past rows nobody read; read on from here.
      size = o.first;
      uncapped = true;
      break;
    }
  }
}
