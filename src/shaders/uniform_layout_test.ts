import assert from "node:assert/strict";
import { uniformLayout } from "./uniform_layout.ts";

Deno.test("uniformLayout declares fields in order and packs each as its scalar type", () => {
  const layout = uniformLayout("Params", { rows: "u32", pad: "i32", alpha: "f32" });
  assert.equal(layout.struct, "struct Params { rows: u32, pad: i32, alpha: f32 }");
  const words = layout.pack({ rows: 4000000000, pad: -3, alpha: 0.1 });
  assert.equal(words.length, 3);
  assert.equal(words[0], 4000000000);
  assert.equal(new Int32Array(words.buffer)[1], -3);
  assert.equal(new Float32Array(words.buffer)[2], Math.fround(0.1));
});

Deno.test("uniformLayout rejects values that do not fit their type, naming the field", () => {
  const layout = uniformLayout("Params", { rows: "u32", pad: "i32" });
  assert.throws(
    () => layout.pack({ rows: -1, pad: 0 }),
    /Uniform "rows" of Params is -1, not a u32/,
  );
  assert.throws(() => layout.pack({ rows: 1.5, pad: 0 }), /"rows" of Params is 1.5, not a u32/);
  assert.throws(() => layout.pack({ rows: 1, pad: 2 ** 31 }), /"pad" of Params .* not an i32/);
});
