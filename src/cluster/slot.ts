/**
 * Redis Cluster hash slots: CRC16 (XMODEM) of the key, or of its hash tag,
 * modulo 16384.
 *
 * @module
 */

/** How many hash slots a Redis Cluster has. */
export const SLOT_COUNT = 16384;

const encoder = new TextEncoder();
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    table[i] = crc;
  }
  return table;
})();

/**
 * CRC16/XMODEM (polynomial `0x1021`, initial value 0), as Redis Cluster uses it.
 *
 * @param bytes The bytes.
 * @param start The first byte.
 * @param end The end (exclusive).
 * @returns The checksum, from 0 to 65535.
 *
 * @example The check value of CRC16/XMODEM
 * ```ts
 * import { crc16 } from "./slot.ts";
 *
 * console.log(crc16(new TextEncoder().encode("123456789")).toString(16)); // "31c3"
 * ```
 */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  }
  return crc;
}

/**
 * The hash slot of a key. When the key has a hash tag (the text between its
 * first `{` and the next `}`, if not empty), only the tag is hashed, so keys
 * such as `{user:1}:name` and `{user:1}:email` share a slot.
 *
 * @param key The key: a string (hashed as UTF-8) or bytes.
 * @returns The slot, from 0 to 16383.
 *
 * @example Keys with the same hash tag share a slot
 * ```ts
 * import { keySlot } from "./slot.ts";
 *
 * console.log(keySlot("foo")); // 12182
 * console.log(keySlot("{user:1}:name") === keySlot("{user:1}:email")); // true
 * ```
 */
export function keySlot(key: string | Uint8Array): number {
  const bytes = typeof key === "string" ? encoder.encode(key) : key;
  const open = bytes.indexOf(OPEN_BRACE);
  if (open !== -1) {
    const close = bytes.indexOf(CLOSE_BRACE, open + 1);
    if (close > open + 1) return crc16(bytes, open + 1, close) % SLOT_COUNT;
  }
  return crc16(bytes) % SLOT_COUNT;
}
