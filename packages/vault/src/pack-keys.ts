/**
 * @module pack-keys
 * Where packs live in the blob store: one folder per keyring, fanned out by the name's first
 * two hex digits so that no directory grows without bound.
 */

/** The blob store prefix of every pack of keyring `keyringId`. */
export function packPrefix(keyringId: string): string {
  return `packs/${keyringId}/`;
}

/** The blob store key of pack `name` of keyring `keyringId`. */
export function packKey(keyringId: string, name: string): string {
  return `${packPrefix(keyringId)}${name.slice(0, 2)}/${name}`;
}
