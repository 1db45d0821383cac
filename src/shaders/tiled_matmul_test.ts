import assert from "node:assert/strict";
import {
  CELLS_16X16,
  matmulDispatch,
  matmulTileFor,
  REGISTER_THREADS,
  registerStep,
  registerTileFor,
  tiledMatmulWgsl,
  WORKGROUP_TILES,
} from "./tiled_matmul.ts";

Deno.test("matmulTileFor keeps the workgroup tiles for GPUs: 16 rows or fewer get the small one", () => {
  const tile = (rows: number) =>
    matmulTileFor({ rows, cols: 100, batches: 1 }, false, "quad", "quad");
  assert.equal(tile(1), WORKGROUP_TILES.small);
  assert.equal(tile(16), WORKGROUP_TILES.small);
  assert.equal(tile(17), WORKGROUP_TILES.large);
});

Deno.test("registerTileFor arranges one SIMD group of invocations over whole blocks", () => {
  for (const rows of [1, 3, 16, 17, 64, 512]) {
    for (const cols of [1, 49, 196, 3136]) {
      for (const a of ["quad", "k4"] as const) {
        const t = registerTileFor({ rows, cols, batches: 1 }, a, "quad");
        const label = `${rows}x${cols} ${a}: ${t.name}`;
        assert.equal((t.tm / t.rm) * (t.tn / t.rn), REGISTER_THREADS, label);
        assert.ok(Number.isInteger(t.tm / t.rm) && Number.isInteger(t.tn / t.rn), label);
        assert.equal(t.rn % 4, 0, label);
        if (a === "quad") assert.equal(t.rm % 4, 0, label);
      }
    }
  }
});

Deno.test("registerTileFor picks 32x16 blocks for large problems, 16x16 under a cap, thin ones for a row", () => {
  // Large: 32x16 blocks need the fewest loads per multiply-add (32 + 16 per 512).
  const conv = registerTileFor({ rows: 64, cols: 3136, batches: 1 }, "quad", "quad");
  assert.deepEqual([conv.rm, conv.rn, conv.tm, conv.tn], [32, 16, 32, 128]);
  // Capped at 256 outputs: 16x16 (16 + 16 per 256); 64 rows: 8 row blocks would pad them to
  // 128, so 8 column blocks (3136 columns: 2% padding).
  const capped = registerTileFor({ rows: 64, cols: 3136, batches: 1 }, "quad", "quad", CELLS_16X16);
  assert.deepEqual([capped.rm, capped.rn, capped.tm, capped.tn], [16, 16, 16, 128]);
  // 128 rows or more: 8 row blocks sharing their columns.
  const wide = registerTileFor({ rows: 256, cols: 196, batches: 1 }, "quad", "quad");
  assert.deepEqual([wide.tm, wide.tn], [256, 16]);
  const wideCapped = registerTileFor({ rows: 256, cols: 196, batches: 1 }, "quad", "quad", 256);
  assert.deepEqual([wideCapped.tm, wideCapped.tn], [128, 16]);
  // One row loaded as vec4s of depths: a single row per invocation, 16 columns.
  const gemv = registerTileFor({ rows: 1, cols: 1000, batches: 1 }, "k4", "k4");
  assert.deepEqual([gemv.rm, gemv.rn], [1, 16]);
  // One row loaded as quads of rows: 4 rows per invocation at least.
  assert.equal(registerTileFor({ rows: 1, cols: 1000, batches: 1 }, "quad", "k4").rm, 4);
});

Deno.test("matmulDispatch counts tiles over batches and refuses k4 loads of a ragged depth", () => {
  const tile = registerTileFor({ rows: 64, cols: 3136, batches: 2 }, "quad", "quad", CELLS_16X16);
  const { uniforms, workgroups } = matmulDispatch(tile, 64, 3136, 576, 2, 65535);
  assert.deepEqual(uniforms, {
    mm_rows: 64,
    mm_cols: 3136,
    mm_depth: 576,
    mm_step: 32,
    mm_tiles_m: 4,
    mm_tiles_n: 25,
    mm_count: 4 * 25 * 2,
    mm_tile_rows: 16,
    mm_tile_cols: 128,
  });
  assert.deepEqual(workgroups, [200, 1, 1]);
  const k4 = registerTileFor({ rows: 1, cols: 8, batches: 1 }, "k4", "quad");
  assert.throws(() => matmulDispatch(k4, 1, 8, 6, 1, 65535), /depth 6 is not a multiple of 4/);
  assert.doesNotThrow(() => matmulDispatch(k4, 1, 8, 8, 1, 65535));
});

Deno.test("register kernel WGSL has no workgroup memory or barrier; the workgroup kernel has both", () => {
  const decls = "/* hooks */";
  const registers = tiledMatmulWgsl({
    tile: registerTileFor({ rows: 64, cols: 64, batches: 1 }, "quad", "k4"),
    aOrder: "k",
    bOrder: "quad",
    decls,
  });
  assert.ok(!/workgroupBarrier|var<workgroup>/.test(registers));
  assert.match(registers, new RegExp(`@workgroup_size\\(${REGISTER_THREADS}\\)`));
  const workgroup = tiledMatmulWgsl({
    tile: WORKGROUP_TILES.large,
    aOrder: "k",
    bOrder: "quad",
    decls,
  });
  assert.match(workgroup, /workgroupBarrier/);
  assert.match(workgroup, /var<workgroup> mm_a_tile/);
});

Deno.test("registerStep is the power of 2 nearest sqrt(depth), from 16 to 64", () => {
  // sqrt: 1, 8, 24 (log2 4.58), 22.6 (log2 4.5 rounds up), 48, 67.9, 1000.
  const cases = [[1, 16], [64, 16], [576, 32], [512, 32], [2304, 64], [4608, 64], [1e6, 64]];
  for (const [depth, step] of cases) assert.equal(registerStep(depth), step, `depth ${depth}`);
});

Deno.test("packed int8 operands need the register kernel and k4 loads; they accumulate in i32", () => {
  const decls = "/* hooks */";
  const k4 = registerTileFor({ rows: 64, cols: 64, batches: 1, depthsPerElement: 4 }, "k4", "k4");
  const wgsl = tiledMatmulWgsl({ tile: k4, aOrder: "k", bOrder: "k", decls, operands: "i8x4" });
  assert.match(wgsl, /dot4I8Packed\(a0, b0\)/);
  assert.match(wgsl, /var acc0_0 = vec4<i32>\(\);/);
  assert.match(wgsl, /mm_depth_next4\(d0\)/);
  assert.ok(!/fma\(|part/.test(wgsl), "no f32 products or summation steps");
  const quad = registerTileFor({ rows: 64, cols: 64, batches: 1 }, "quad", "quad");
  assert.throws(
    () => tiledMatmulWgsl({ tile: quad, aOrder: "k", bOrder: "k", decls, operands: "i8x4" }),
    /load as k4/,
  );
  assert.throws(
    () =>
      tiledMatmulWgsl({
        tile: WORKGROUP_TILES.large,
        aOrder: "k",
        bOrder: "quad",
        decls,
        operands: "i8x4",
      }),
    /need the register kernel/,
  );
});
