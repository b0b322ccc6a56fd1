/**
 * @module backup/excludes
 * Exclude patterns as restic reads them: a pattern without `/` matches a name at any depth,
 * a pattern with `/` matches the absolute path (and everything below a matching directory).
 */
import { Minimatch } from 'minimatch';

/** Compiled exclude patterns. */
export class Excludes {
  private readonly byName: Minimatch[] = [];
  private readonly byPath: Minimatch[] = [];

  constructor(readonly patterns: readonly string[]) {
    for (const pattern of patterns) {
      const m = new Minimatch(pattern, { dot: true, nocomment: true, nonegate: true });
      (pattern.includes('/') ? this.byPath : this.byName).push(m);
    }
  }

  /**
   * True when the entry `name` at absolute `path` (bytes, matched as UTF-8) is excluded. With
   * no patterns nothing is decoded: a walk asks for every entry.
   */
  excludes(path: Buffer, name: Buffer): boolean {
    if (this.byName.length > 0 && this.byName.some((m) => m.match(name.toString('utf8'))))
      return true;
    return this.byPath.length > 0 && this.byPath.some((m) => m.match(path.toString('utf8')));
  }
}
