import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { seededRandom } from "../testing/random.ts";
import { sha256Hex } from "./sha256.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("sha256Hex matches the FIPS 180-2 test vectors", async () => {
  assert.equal(
    await sha256Hex(text("")),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    await sha256Hex(text("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    await sha256Hex(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256Hex agrees with node:crypto on random data, views and shared buffers", async () => {
  const rand = seededRandom(5);
  for (const length of [1, 63, 64, 65, 1000, 100_003]) {
    const bytes = Uint8Array.from({ length }, () => Math.floor(rand() * 256));
    const expected = createHash("sha256").update(bytes).digest("hex");
    assert.equal(await sha256Hex(bytes), expected, `length ${length}`);

    const padded = new Uint8Array(length + 7);
    padded.set(bytes, 3);
    assert.equal(await sha256Hex(padded.subarray(3, 3 + length)), expected, `view ${length}`);

    const shared = new Uint8Array(new SharedArrayBuffer(length));
    shared.set(bytes);
    assert.equal(await sha256Hex(shared), expected, `shared ${length}`);
  }
});
