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

  /** True when the entry `name` at absolute `path` is excluded. */
  excludes(path: string, name: string): boolean {
    return this.byName.some((m) => m.match(name)) || this.byPath.some((m) => m.match(path));
  }
}
