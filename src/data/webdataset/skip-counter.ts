// Bad data never stops a run: every skipped sample or shard is counted here
// by reason, and the summary is reported at the end.

export type SkipReason =
  | 'truncated_shard' | 'corrupt_shard' | 'unreadable_shard' | 'corrupt_image' | 'missing_image'
  | 'missing_caption' | 'missing_label' | 'bad_annotation'
  /** A member lost to a corrupt tar header (reading resynced on the next valid one). */
  | 'corrupt_header'
  /** A zero-byte member, dropped. */
  | 'empty_member'
  /** A member over the reader's size limit, dropped unread. */
  | 'oversized_member'
  /** An image over the decoder's pixel limit (a decompression bomb), refused before decoding. */
  | 'image_too_large'
  /** Loose files: a file in a class folder that is not an image by its extension. */
  | 'not_an_image'
  /** Loose files: an image at the top of a class-folder tree, in no class folder. */
  | 'outside_class_folder'
  /** Loose files: a path listed by a CSV or list file that does not exist. */
  | 'missing_file'
  /** Loose files: a listed file that could not be read (permissions, removed since). */
  | 'unreadable_file';

export class SkipCounter {
  readonly counts = new Map<SkipReason, number>();
  /** A few examples per reason, to say where the bad data is. */
  readonly examples = new Map<SkipReason, string[]>();

  add(reason: SkipReason, detail?: string, count = 1): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + count);
    if (detail === undefined) return;
    const list = this.examples.get(reason) ?? [];
    // One line each (libvips repeats its complaint over several), so a summary stays one line.
    if (list.length < 3) list.push(detail.split('\n')[0]!.trimEnd());
    this.examples.set(reason, list);
  }

  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  merge(other: SkipCounter): void {
    for (const [reason, n] of other.counts) {
      this.add(reason, undefined, n);
      for (const example of other.examples.get(reason) ?? []) this.add(reason, example, 0);
    }
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** One line, e.g. "skipped 3: corrupt_image 2 (e.g. a.tar:key), truncated_shard 1". */
  summary(): string {
    if (this.total === 0) return 'skipped 0';
    const parts = [...this.counts].sort((a, b) => b[1] - a[1]).map(([reason, n]) => {
      const example = this.examples.get(reason)?.[0];
      return example ? `${reason} ${n} (e.g. ${example})` : `${reason} ${n}`;
    });
    return `skipped ${this.total}: ${parts.join(', ')}`;
  }
}
