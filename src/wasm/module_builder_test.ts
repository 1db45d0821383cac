import assert from "node:assert/strict";
import { seededRandom } from "../testing/random.ts";
import { FunctionBody } from "./function_body.ts";
import { ModuleBuilder } from "./module_builder.ts";
import { relaxedSimdSupported, simdProbeModule, wasmSimdSupported } from "./simd_support.ts";

/** Validates `mod`'s bytes and instantiates them with `memory` as env.memory when given. */
function instantiate(mod: ModuleBuilder, memory?: WebAssembly.Memory): WebAssembly.Exports {
  const bytes = mod.encode();
  assert.ok(WebAssembly.validate(bytes), "module validates");
  const imports: WebAssembly.Imports = memory ? { env: { memory } } : {};
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports;
}

Deno.test("ModuleBuilder encodes the header and a minimal module exactly", () => {
  const mod = new ModuleBuilder();
  const fn = mod.addFunction(["i32", "i32"], ["i32"]);
  fn.body.localGet(0).localGet(1).op("i32.add");
  mod.exportFunction("add", fn.index);
  // Hand-assembled from the binary format: magic, version, type, function, export, code.
  const expected = [
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    [0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f],
    [0x03, 0x02, 0x01, 0x00],
    [0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00],
    [0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b],
  ].flat();
  assert.deepEqual([...mod.encode()], expected);
  const { add } = instantiate(mod) as { add: (a: number, b: number) => number };
  assert.equal(add(2, 40), 42);
  assert.equal(add(0x7fffffff, 1), -0x80000000, "i32 wraps");
});

Deno.test("Loops, ifs, select, locals and i32 arithmetic run as written", () => {
  const mod = new ModuleBuilder();
  // f(n, cap) = sum over i < n of min(i * 3 - 1, cap) >>> 1 (a loop), or -7 when n is 0.
  const fn = mod.addFunction(["i32", "i32"], ["i32"]);
  const f = fn.body;
  const [i, sum, term] = [f.addLocal("i32"), f.addLocal("i32"), f.addLocal("i32")];
  f.localGet(0).op("i32.eqz").if();
  f.i32Const(-7).localSet(sum);
  f.end();
  f.localGet(0).if();
  f.loop();
  f.localGet(i).i32Const(3).op("i32.mul").i32Const(1).op("i32.sub").localTee(term);
  f.localGet(1).localGet(term).localGet(1).op("i32.lt_u").op("select");
  f.i32Const(1).op("i32.shr_u").localGet(sum).op("i32.add").localSet(sum);
  f.localGet(i).i32Const(1).op("i32.add").localTee(i).localGet(0).op("i32.lt_u").brIf(0);
  f.end();
  f.end();
  f.localGet(sum);
  mod.exportFunction("f", fn.index);
  const run = (instantiate(mod) as { f: (n: number, cap: number) => number }).f;
  const expected = (n: number, cap: number) => {
    if (n === 0) return -7;
    let s = 0;
    // i32.lt_u compares unsigned: -1 (i = 0) is the largest value, so cap wins.
    for (let k = 0; k < n; k++) s += Math.min((k * 3 - 1) >>> 0, cap) >>> 1;
    return s | 0;
  };
  for (const [n, cap] of [[0, 5], [1, 5], [7, 10], [20, 1000], [33, 17]]) {
    assert.equal(run(n, cap), expected(n, cap), `f(${n}, ${cap})`);
  }
});

Deno.test("call_indirect dispatches through the table with a shared type", () => {
  const mod = new ModuleBuilder();
  const ops = ["i32.add", "i32.sub", "i32.mul"] as const;
  const table = ops.map((op) => {
    const fn = mod.addFunction(["i32", "i32"], ["i32"]);
    fn.body.localGet(0).localGet(1).op(op);
    return fn.index;
  });
  mod.setTable(table);
  const type = mod.addType(["i32", "i32"], ["i32"]);
  assert.equal(type, 0, "types are deduplicated");
  const dispatch = mod.addFunction(["i32", "i32", "i32"], ["i32"]);
  dispatch.body.localGet(1).localGet(2).localGet(0).callIndirect(type);
  mod.exportFunction("dispatch", dispatch.index);
  const run = (instantiate(mod) as { dispatch: (s: number, a: number, b: number) => number })
    .dispatch;
  assert.deepEqual([0, 1, 2].map((slot) => run(slot, 9, 4)), [13, 5, 36]);
  assert.throws(() => run(3, 9, 4), WebAssembly.RuntimeError, "slot past the table traps");
});

Deno.test({
  name: "Scalar and SIMD memory instructions move and combine f32 data exactly",
  ignore: !wasmSimdSupported(),
}, () => {
  const mod = new ModuleBuilder();
  mod.importMemory("env", "memory", { minPages: 1 });
  // g(dst, src): dst[0..4) = src[0..4) * src[4] + src[8..12)  (splat of src[4]);
  // dst[4..6) = src[12..14) (i64 move); dst[6] = src[14] (f32 move); offsets as immediates.
  const fn = mod.addFunction(["i32", "i32"], []);
  const f = fn.body;
  const acc = f.addLocal("v128");
  f.localGet(1).memory("v128.load", 32).localSet(acc);
  f.localGet(0);
  f.localGet(acc).localGet(1).memory("v128.load").localGet(1).memory("v128.load32_splat", 16);
  f.op("f32x4.mul").op("f32x4.add").memory("v128.store");
  f.localGet(0).localGet(1).memory("i64.load", 48).memory("i64.store", 16);
  f.localGet(0).localGet(1).memory("f32.load", 56).memory("f32.store", 24);
  mod.exportFunction("g", fn.index);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
  const { g } = instantiate(mod, memory) as { g: (dst: number, src: number) => void };
  const rand = seededRandom(3);
  const heap = new Float32Array(memory.buffer);
  const src = 64, dst = 256;
  for (let i = 0; i < 16; i++) heap[src / 4 + i] = rand() * 4 - 2;
  g(dst, src);
  const s = heap.subarray(src / 4, src / 4 + 16);
  const expected = [0, 1, 2, 3].map((l) => Math.fround(Math.fround(s[l] * s[4]) + s[8 + l]));
  expected.push(s[12], s[13], s[14]);
  assert.deepEqual([...heap.subarray(dst / 4, dst / 4 + 7)], expected);
});

Deno.test("FunctionBody rejects unbalanced blocks", () => {
  assert.throws(() => new FunctionBody([]).end(), /no block is open/);
  assert.throws(() => new FunctionBody([]).loop().encode(), /1 block\(s\) left open/);
});

Deno.test("Feature probes are valid modules on engines with SIMD, and FMA implies SIMD", () => {
  assert.equal(
    WebAssembly.validate(simdProbeModule(["f32x4.mul", "f32x4.add"])),
    wasmSimdSupported(),
  );
  assert.ok(!relaxedSimdSupported() || wasmSimdSupported());
  // A probe that leaves the wrong number of values on the stack must not validate.
  assert.equal(WebAssembly.validate(simdProbeModule(["f32x4.mul"])), false);
});

Deno.test("A module importing a shared memory instantiates on one; shared needs a maximum", () => {
  const mod = new ModuleBuilder();
  mod.importMemory("env", "memory", { minPages: 1, maxPages: 4, shared: true });
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
  const module = new WebAssembly.Module(mod.encode());
  assert.ok(new WebAssembly.Instance(module, { env: { memory } }));
  const unshared = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  assert.throws(() => new WebAssembly.Instance(module, { env: { memory: unshared } }));
  assert.throws(
    () => new ModuleBuilder().importMemory("env", "memory", { minPages: 1, shared: true }),
    /a shared memory needs maxPages/,
  );
});
