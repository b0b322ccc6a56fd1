/**
 * @module v8-flags
 * The V8 settings of the `coffer` process, in one place. They are process-wide, so the program
 * sets a baseline at its start and a command whose work wants otherwise changes them when it
 * starts. V8 reads each of these flags when it next uses it (a compilation, a collection), so
 * setting them after start takes effect.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * The baseline, before any command runs. `--liftoff-only`: undici parses HTTP with llhttp
 * compiled to WebAssembly. V8 first compiles it with Liftoff, then its hot parser function again
 * with TurboFan on a background thread: about 35 MiB of compiler memory for a few tenths of a
 * second, at every command's first request to the vault, while scrypt holds its own memory (a
 * no-change backup of 100,000 files peaked there, 187 MiB). Liftoff's code parses the few header
 * bytes of a response at no measured cost.
 */
export function tuneV8(): void {
  setFlagsFromString('--liftoff-only');
}

/**
 * For `coffer backup`: the heap grows to 1.5 times its live size between full collections. The
 * walking thread promotes many objects that die soon after (sealed blobs on their way into a
 * pack, a directory's entries), and V8's own growth for a heap this small let the old space reach
 * three to four times what was live: an initial backup of 100,000 small files peaked 30-40 MiB
 * lower, its CPU within the spread of runs. (A verify --read-data, whose live heap is larger,
 * paid 9% more CPU for 28 MiB.)
 */
export function tuneV8ForBackup(): void {
  setFlagsFromString('--heap-growing-percent=50');
}

/**
 * For the vault: the heap grows to five times its live size between full collections (V8's
 * default is chosen per collection and stays near 1.1 for a small heap). Uploads pass every byte
 * through short-lived socket buffers; with the default, the vault ran a full collection every
 * ~30 MB received and spent a quarter of its CPU in the collector (bench/: vault CPU 6.3 -> 4.6 s
 * for the default dataset's initial backup, peak RSS 200 -> 230 MiB).
 */
export function tuneV8ForServing(): void {
  setFlagsFromString('--heap-growing-percent=400');
}
