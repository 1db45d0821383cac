/**
 * SHA-256 of byte arrays through WebCrypto, as the lowercase hex the manifest stores.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./sha256.ts";
 * await sha256Hex(new TextEncoder().encode("abc")); // "ba7816bf...f20015ad"
 * ```
 *
 * @module
 */

/** Returns the SHA-256 digest of `bytes` as 64 lowercase hex digits. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // WebCrypto takes views of plain ArrayBuffers only; a shared buffer's view is copied.
  const input = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : bytes.slice();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
