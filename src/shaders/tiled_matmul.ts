/**
 * The tiled matmul core shared by the Conv (implicit GEMM), Gemm and MatMul kernels.
 *
 * Problem: for each `batch`, C[rows, cols] = sum over k < depth of A(row, k) * B(k, col). The
 * op supplies how A and B are read (any layout, computed on the fly: an implicit im2col for
 * Conv) and how C is stored (its epilogue), as WGSL functions; this module writes the rest.
 * Two kernels share those hooks; `matmulTileFor` picks one per adapter.
 *
 * Workgroup kernel (`kind: "workgroup"`, for GPUs):
 * - One workgroup computes one tm x tn output tile of one batch, walking the depth in steps
 *   of tk. Flat workgroup index = (batch * tilesN + tileN) * tilesM + tileM, so consecutive
 *   workgroups share the same B tile (for Conv: the same input patches) and it stays in cache.
 * - Each step, the workgroup stages A[tm x tk] and B[tk x tn] in workgroup memory as vec4s
 *   of 4 consecutive rows (A, stored k-major) or 4 consecutive columns (B). Each invocation
 *   loads whole vec4 "quads" from fixed (quad, k-offset) slots; its per-quad address work
 *   (`mm_a_setup` / `mm_b_setup`: for Conv, decoding output pixels) is done once, before
 *   the depth loop. Slots are assigned so that consecutive invocations read consecutive
 *   addresses: `"k"` order when A or B is contiguous along k, `"quad"` order otherwise.
 * - Invocation (tx, ty) then accumulates the 4x4 block rows ty*4.., columns tx*4.. in four
 *   vec4 registers: per k, one vec4 of A and one vec4 of B from workgroup memory feed 16
 *   multiply-adds (4 vec4 fmas).
 * - Why it beats a naive one-output-per-invocation kernel on a GPU: a naive kernel loads 2
 *   values from global memory per multiply-add; here each global load feeds tm (B) or tn (A)
 *   multiply-adds across the workgroup and each workgroup-memory load feeds 4.
 *
 * Register kernel (`kind: "registers"`, for CPU-like adapters such as llvmpipe):
 * - No workgroup memory and no barrier. Each invocation computes an rm x rn block (32 x 16
 *   or 16 x 16 typically: 128 or 64 vec4 accumulators) reading A and B straight from storage
 *   into registers; the CPU's caches do the tiling. `gx` x `gy` invocations (8: one SIMD
 *   group of llvmpipe) cover a tm x tn tile; with `gy` = 1 the invocations of a SIMD group
 *   share their rows.
 *   The arrangement (tm, tn) is a uniform, not compiled in: only the block shape, the load
 *   forms and the op's hooks make a variant (a variant costs 20-35 ms of pipeline creation on
 *   lavapipe; the few integer divisions the uniform costs happen once per invocation).
 * - Why on llvmpipe (Mesa 22.3, LLVM 15): it runs 8 invocations as one AVX vector, so the
 *   arithmetic is cheap, but every storage or workgroup-memory load is a loop over the 8
 *   lanes of about 15 instructions per lane and element (bounds check, lane mask, masked
 *   broadcast; a texel fetch is one vector gather, so the conv hooks read their operand
 *   copies from textures, src/shaders/texel_rows.ts), and a barrier makes the shader a
 *   coroutine that keeps its values in memory (the same loop of loads and multiply-adds ran
 *   2.2x slower behind one). Per depth an
 *   rm x rn block loads rm + rn values for rm * rn multiply-adds: the block balances that
 *   ratio against the accumulators the compiler spills (`registerTileFor`'s cost model) and
 *   against compile time, which matters with an empty Mesa shader cache (a first start, or
 *   any start where the cache does not persist): `REGISTER_BLOCKS` and `registerStores` say
 *   what each costs.
 * - Loads come as vec4s (on llvmpipe a vec4 of 4 rows costs about 2/3 of 4 scalar loads):
 *   per operand, the op's hook returns either a `"quad"` (4 consecutive rows or columns at
 *   one depth) or a `"k4"` (4 consecutive depths of one row or column); with a `"k4"`
 *   operand the depth advances 4 at a time (depth % 4 == 0). A `"k4"` operand keeps 4
 *   depths of each of its rows live, so it suits thin blocks (rm = 1: a batch-1 Gemm).
 *
 * Both kernels sum each depth step (tk for the workgroup kernel, `registerStep(depth)` for the
 * register kernel) into fresh `part` registers that are then added to `acc`: a two-level
 * (blocked) summation whose rounding error grows with step + depth/step instead of depth. It
 * halves the whole-model error of deep networks against onnxruntime.
 * Rows/columns past the edge are computed from clamped (in-bounds) reads and never stored;
 * the workgroup kernel zero-fills the depth tail of its last step.
 *
 * Hooks the op's WGSL (`TiledMatmulSource.decls`) must define, besides its bindings and a
 * `params` uniform whose struct includes `MATMUL_UNIFORMS`:
 * - `struct MmDepth`, `fn mm_depth(k: u32) -> MmDepth` and `fn mm_depth_next(d: MmDepth) ->
 *   MmDepth`: a cursor over the depth (for Conv: input channel and kernel tap), built once
 *   and advanced by one, so that the register kernel never divides in its loop (for packed
 *   int8 operands, `fn mm_depth_next4(d: MmDepth) -> MmDepth` instead, advancing by 4).
 * - `struct MmASetup`, `fn mm_a_setup(batch: u32, row: u32) -> MmASetup` (for a quad, rows
 *   row..row+3; for k4, row; possibly past the edge) and `fn mm_load_a(s: MmASetup,
 *   d: MmDepth) -> vec4<f32>` returning A(row+i, k) (quad) or A(row, k+i) (k4) at the
 *   cursor's depth k, called only with k < depth; reads must stay in bounds.
 * - `struct MmBSetup`, `fn mm_b_setup(batch: u32, col: u32) -> MmBSetup` and
 *   `fn mm_load_b(s: MmBSetup, d: MmDepth) -> vec4<f32>` returning B(k, col+i) (quad) or
 *   B(k+i, col) (k4), likewise.
 * - `fn mm_store(batch: u32, row: u32, col: u32, v: vec4<f32>)` storing C(row, col+i) = v[i]
 *   for col+i < cols; called only with row < rows.
 *
 * Packed int8 operands (register kernel, `operands: "i8x4"`, A `"k4"`): the load hooks return a u32
 * word of 4 i8 depths (B `"k4"`), or B's a vec4<u32> of 4 columns' words at one depth word (B
 * `"quad"`), each cell takes `dot4I8Packed` of its row's and column's words, and the accumulators
 * are `vec4<i32>` (wrapping, exact: no summation steps), which `mm_store` receives. A 16 x 16 block
 * then loads 32 words per 1024 multiply-adds, where f32 operands load 32 values per 256. The
 * products are ordered by column quad, then row (row first measured the same, within noise). The op
 * also defines `struct MmColumn` and `fn mm_column(batch: u32, col: u32) -> MmColumn` (columns
 * col..col+3, possibly past the edge), built once per column quad of the block, and its `mm_store`
 * takes that as a fifth argument: an int8 conv's per-channel bias and scale are loaded once per
 * block instead of once per stored word (every load a per-lane loop on lavapipe; ResNet-50 int8 on
 * lavapipe 167 -> 146 ms a run, interleaved, outputs bit-identical).
 *
 * @module
 */

import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "./grid.ts";

/** How an operand's load hook returns 4 values: 4 rows (columns) at one depth, or 4 depths. */
export type OperandVector = "quad" | "k4";

/** A tile of the workgroup kernel: tm x tn outputs, tk depths per step, 4x4 per invocation. */
export interface WorkgroupTile {
  /** Which kernel. */
  readonly kind: "workgroup";
  /** Name used in pipeline keys. */
  readonly name: string;
  /** Rows per tile (multiple of 4). */
  readonly tm: number;
  /** Columns per tile (multiple of 4). */
  readonly tn: number;
  /** Depths per step. */
  readonly tk: number;
}

/**
 * A tile of the register kernel: (tm / rm) x (tn / rn) invocations of rm x rn outputs each;
 * how A and B are loaded. Its arrangement (tm, tn) and summation step (`registerStep`) are
 * uniforms.
 */
export interface RegisterTile {
  /** Which kernel. */
  readonly kind: "registers";
  /** Name used in pipeline keys (names every compiled field: rm, rn, a, b). */
  readonly name: string;
  /** Rows per tile (a uniform). */
  readonly tm: number;
  /** Columns per tile (a uniform). */
  readonly tn: number;
  /** Rows per invocation (multiple of 4 unless A is loaded as `"k4"`). */
  readonly rm: number;
  /** Columns per invocation (multiple of 4). */
  readonly rn: number;
  /** Vector form of A's loads. */
  readonly a: OperandVector;
  /** Vector form of B's loads. */
  readonly b: OperandVector;
}

/** A tile of either kernel. */
export type MatmulTile = WorkgroupTile | RegisterTile;

/**
 * The workgroup kernel's tiles: `large` (256 invocations) for the usual many-row problems,
 * `small` (64 invocations) for problems of at most 16 rows (classifier Gemm at batch 1,
 * narrow groups), where a 64-row tile would mostly compute discarded rows.
 */
export const WORKGROUP_TILES = {
  large: { kind: "workgroup", name: "t64x64x16", tm: 64, tn: 64, tk: 16 },
  small: { kind: "workgroup", name: "t16x64x16", tm: 16, tn: 64, tk: 16 },
} as const satisfies Record<string, WorkgroupTile>;

/** Invocations per workgroup of the register kernel: one llvmpipe SIMD group. */
export const REGISTER_THREADS = 8;

/**
 * Depths per summation step of the register kernel for a depth: the power of 2 nearest to
 * sqrt(depth), from 16 to 64, which minimises the two-level summation's error bound
 * (step + depth / step) and spends at most 1/16 of the loop on adding `part` to `acc`
 * (2-3% faster than a fixed step of 16 on ResNet-50's convs); a multiple of 4.
 */
export function registerStep(depth: number): number {
  const step = 2 ** Math.round(Math.log2(Math.sqrt(Math.max(depth, 1))));
  return Math.min(64, Math.max(16, step));
}

/*
 * Cost model of the register kernel per depth and SIMD group, in CPU cycles on llvmpipe
 * (AVX2/AVX-512, LLVM 15), from its generated code: each loaded element is a per-lane loop
 * of about 15 instructions (bounds check, lane mask, masked broadcast), about 30 cycles for
 * 8 lanes (`LOAD_CYCLES`); a vec4 multiply-add is 4 vector FMAs, 2 cycles, and 6 once the
 * accumulators spill to the stack (more than `REGISTER_ACCUMULATORS` vec4s).
 */

/** Cycles for one SIMD group of llvmpipe to load (or store) one 32-bit element per lane. */
export const LOAD_CYCLES = 30;
const FMA_CYCLES = 2;
const SPILLED_FMA_CYCLES = 6;
const REGISTER_ACCUMULATORS = 6;

/**
 * Register block shapes (rm, rn) the planner considers. 32 x 16 blocks ran ResNet-50's f32
 * convs 6-12% faster than 16 x 16 (the whole model 193 -> 180 ms interleaved, outputs
 * bit-identical; only its 64-channel Winograd layers at 56x56 3% slower) and take LLVM 1.1-1.2 s
 * to compile on lavapipe against 0.45 s (`registerStores`).
 */
const REGISTER_BLOCKS: readonly [number, number][] = [
  [32, 16],
  [16, 16],
  [16, 8],
  [8, 16],
  [8, 8],
  [4, 16],
  [16, 4],
  [4, 8],
  [8, 4],
  [4, 4],
  [1, 16],
  [1, 4],
];

/**
 * Outputs of a 16 x 16 block: the `maxCells` of kernels where a 32 x 16 block does not pay
 * (int8 convs: src/ops/int8_conv_gemm.ts; convs on a shifted copy: src/ops/conv.ts).
 */
export const CELLS_16X16 = 256;

/** What `matmulTileFor` needs to know of a problem. */
export interface MatmulShape {
  /** Rows of each product. */
  rows: number;
  /** Columns of each product. */
  cols: number;
  /** Number of products. */
  batches: number;
  /** Depths per loaded 32-bit element: 4 for int8 operands packed in words; default 1. */
  depthsPerElement?: number;
}

/** Estimated register-kernel cycles per depth for a problem, with rm x rn blocks on gx x gy. */
function registerCost(p: MatmulShape, rm: number, rn: number, gy: number): number {
  const gx = REGISTER_THREADS / gy;
  const tiles = Math.ceil(p.rows / (rm * gy)) * Math.ceil(p.cols / (rn * gx)) * p.batches;
  const vec4Fmas = rm * rn / 4;
  const fma = vec4Fmas * (vec4Fmas > REGISTER_ACCUMULATORS ? SPILLED_FMA_CYCLES : FMA_CYCLES);
  return tiles * (LOAD_CYCLES * (rm + rn) / (p.depthsPerElement ?? 1) + fma);
}

/**
 * Estimated cycles of a `tile` of the register kernel on problem `p` with `depth` (the cost
 * model above), for comparing algorithms built on the kernel (conv_winograd.ts).
 */
export function registerCycles(p: MatmulShape, tile: RegisterTile, depth: number): number {
  return registerCost(p, tile.rm, tile.rn, tile.tm / tile.rm) * depth;
}

/**
 * Invocation rows per tile (gy), in order of preference among tiles of equal cost. Measured on
 * ResNet-50's convs (16 x 16 blocks, llvmpipe): 8 row blocks sharing their columns were the
 * fastest arrangement, or within 5% of it, on every layer of 128 rows or more, and 8 column
 * blocks on the 64-row layers, where 4 row blocks were 10-35% slower; the whole model ran 1-5%
 * faster than with the order 2, 1, 4, 8.
 */
const REGISTER_ARRANGEMENTS = [8, 1, 2, 4];

/** Relative cost within which a tile counts as equal to the cheapest. */
const COST_SLACK = 1.05;

/**
 * The register tile for a problem: the first block shape and invocation arrangement, in
 * order of preference, whose estimated work (padding to whole tiles included) is within 5%
 * of the least; rm a multiple of 4 unless A is `"k4"`. Preferring one block shape keeps the
 * number of compiled variants of a model down; the arrangement is a uniform. Blocks of more
 * than `maxCells` outputs are left out.
 *
 * @example
 * ```ts
 * // 32x16 blocks, 1 x 8 invocations: a 32x128 tile, 2 x 25 of them (2% column padding).
 * registerTileFor({ rows: 64, cols: 3136, batches: 1 }, "quad", "quad");
 * ```
 */
export function registerTileFor(
  p: MatmulShape,
  a: OperandVector,
  b: OperandVector,
  maxCells = Infinity,
): RegisterTile {
  const candidates = REGISTER_BLOCKS.filter(([rm, rn]) =>
    (rm % 4 === 0 || a === "k4") && rm * rn <= maxCells
  ).flatMap((
    [rm, rn],
  ) => REGISTER_ARRANGEMENTS.map((gy) => ({ rm, rn, gy, cost: registerCost(p, rm, rn, gy) })));
  const least = Math.min(...candidates.map((c) => c.cost));
  const { rm, rn, gy } = candidates.find((c) => c.cost <= least * COST_SLACK)!;
  const tm = rm * gy, tn = rn * (REGISTER_THREADS / gy);
  return {
    kind: "registers",
    name: `r${rm}x${rn}_a-${a}_b-${b}`,
    tm,
    tn,
    rm,
    rn,
    a,
    b,
  };
}

/**
 * The tile for a problem: the register kernel where `registers` (CPU-like adapters, see
 * `GpuPlanContext.isFallbackAdapter`), else the workgroup kernel (64-row tiles, 16-row tiles
 * for at most 16 rows), whose loads are always quads; `maxCells` as for `registerTileFor`.
 */
export function matmulTileFor(
  p: MatmulShape,
  registers: boolean,
  a: OperandVector,
  b: OperandVector,
  maxCells = Infinity,
): MatmulTile {
  if (registers) return registerTileFor(p, a, b, maxCells);
  return p.rows <= WORKGROUP_TILES.small.tm ? WORKGROUP_TILES.small : WORKGROUP_TILES.large;
}

/** The vector form each operand's hooks must implement for `tile`. */
function tileVectors(tile: MatmulTile): { a: OperandVector; b: OperandVector } {
  return tile.kind === "registers" ? { a: tile.a, b: tile.b } : { a: "quad", b: "quad" };
}

/** Which index varies fastest across invocations when staging a tile: depth or quad. */
export type LoadOrder = "k" | "quad";

/** The op-specific part of a tiled matmul kernel. */
export interface TiledMatmulSource {
  /** Tile configuration. */
  tile: MatmulTile;
  /** Workgroup kernel's staging order for A: `"k"` when A(row, k) is contiguous along k. */
  aOrder: LoadOrder;
  /** Workgroup kernel's staging order for B: `"quad"` when B(k, col) is contiguous along col. */
  bOrder: LoadOrder;
  /** Bindings, `params`, and the hook functions described in the module doc. */
  decls: string;
  /** Operand type: f32 values (default), or words of 4 i8 depths (register kernel, module doc). */
  operands?: "f32" | "i8x4";
}

/** Uniform fields the core reads; the op's `Params` struct must include them. */
export const MATMUL_UNIFORMS = {
  mm_rows: "u32",
  mm_cols: "u32",
  mm_depth: "u32",
  mm_step: "u32",
  mm_tiles_m: "u32",
  mm_tiles_n: "u32",
  mm_count: "u32",
  mm_tile_rows: "u32",
  mm_tile_cols: "u32",
} as const;

/** Values of `MATMUL_UNIFORMS`. */
export type MatmulUniformValues = { [K in keyof typeof MATMUL_UNIFORMS]: number };

/**
 * Uniform values and workgroup grid for a `batches` x [rows, cols] x depth problem. Throws
 * when a `"k4"` operand meets a depth that is not a multiple of 4.
 *
 * @example
 * ```ts
 * const { uniforms, workgroups } = matmulDispatch(tile, 64, 3136, 576, 1, 65535);
 * ```
 */
export function matmulDispatch(
  tile: MatmulTile,
  rows: number,
  cols: number,
  depth: number,
  batches: number,
  maxPerDimension: number,
): { uniforms: MatmulUniformValues; workgroups: [number, number, number] } {
  const { a, b } = tileVectors(tile);
  if ((a === "k4" || b === "k4") && depth % 4 !== 0) {
    throw new Error(
      `Tile ${tile.name} loads 4 depths at a time; depth ${depth} is not a multiple of 4`,
    );
  }
  const tilesM = Math.ceil(rows / tile.tm);
  const tilesN = Math.ceil(cols / tile.tn);
  const count = tilesM * tilesN * batches;
  return {
    uniforms: {
      mm_rows: rows,
      mm_cols: cols,
      mm_depth: depth,
      mm_step: tile.kind === "registers" ? registerStep(depth) : tile.tk,
      mm_tiles_m: tilesM,
      mm_tiles_n: tilesN,
      mm_count: count,
      mm_tile_rows: tile.tm,
      mm_tile_cols: tile.tn,
    },
    workgroups: workgroupGrid(count, maxPerDimension),
  };
}

/** Returns the complete WGSL of a tiled matmul kernel around the op's `source`. */
export function tiledMatmulWgsl(source: TiledMatmulSource): string {
  const packed = source.operands === "i8x4";
  if (source.tile.kind === "registers") {
    if (packed && source.tile.a !== "k4") {
      throw new Error(`Packed int8 rows load as k4, not as ${source.tile.name}`);
    }
    return packed
      ? packedRegisterWgsl(source.tile, source.decls)
      : registerWgsl(source.tile, source.decls);
  }
  if (packed) throw new Error("Packed int8 operands need the register kernel");
  return workgroupWgsl(source.tile, source);
}

/**
 * WGSL locating the flat workgroup's tile of `tm` x `tn` (WGSL u32 expressions): `batch`,
 * `row0`, `col0`; returns past the count.
 */
function tileOrigin(tm: string, tn: string): string {
  return `let flat = ${FLAT_WORKGROUP_INDEX};
  if (flat >= params.mm_count) { return; }
  let tile_m = flat % params.mm_tiles_m;
  let rest = flat / params.mm_tiles_m;
  let batch = rest / params.mm_tiles_n;
  let row0 = tile_m * ${tm};
  let col0 = (rest % params.mm_tiles_n) * ${tn};`;
}

const MAIN_SIGNATURE = `fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32)`;

/** Staging slots of one operand: WGSL lines binding `<p>_kk<r>` and `<p>_q<r>` per round. */
function slots(prefix: string, quads: number, tk: number, threads: number, order: LoadOrder) {
  const vectors = quads * tk;
  if (vectors % threads !== 0) {
    throw new Error(`Tile stages ${vectors} vec4s of ${prefix}, not a multiple of ${threads}`);
  }
  const rounds = vectors / threads;
  const lines: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const slot = `(lid + ${r * threads}u)`;
    const [kk, q] = order === "k"
      ? [`${slot} % ${tk}u`, `${slot} / ${tk}u`]
      : [`${slot} / ${quads}u`, `${slot} % ${quads}u`];
    lines.push(`let ${prefix}_kk${r} = ${kk};`, `let ${prefix}_q${r} = ${q};`);
  }
  return { rounds, lines };
}

/** The workgroup kernel (module doc). */
function workgroupWgsl(tile: WorkgroupTile, source: TiledMatmulSource): string {
  const { tm, tn, tk } = tile;
  const qa = tm / 4, qb = tn / 4;
  const threads = qa * qb;
  const a = slots("a", qa, tk, threads, source.aOrder);
  const b = slots("b", qb, tk, threads, source.bOrder);
  const setups: string[] = [...a.lines, ...b.lines];
  const loads: string[] = [];
  const operands = [
    { p: "a", rounds: a.rounds, quads: qa, first: "row0" },
    { p: "b", rounds: b.rounds, quads: qb, first: "col0" },
  ];
  for (const { p, rounds, quads, first } of operands) {
    for (let r = 0; r < rounds; r++) {
      setups.push(`let ${p}_set${r} = mm_${p}_setup(batch, ${first} + ${p}_q${r} * 4u);`);
      loads.push(
        `{ let k = k0 + ${p}_kk${r}; var v = vec4<f32>(0.0);`,
        `  if (k < params.mm_depth) { v = mm_load_${p}(${p}_set${r}, mm_depth(k)); }`,
        `  mm_${p}_tile[${p}_kk${r} * ${quads}u + ${p}_q${r}] = v; }`,
      );
    }
  }
  const rows = [0, 1, 2, 3];
  return /* wgsl */ `${source.decls}

var<workgroup> mm_a_tile: array<vec4<f32>, ${tk * qa}>;
var<workgroup> mm_b_tile: array<vec4<f32>, ${tk * qb}>;

@compute @workgroup_size(${threads})
${MAIN_SIGNATURE} {
  ${tileOrigin(`${tm}u`, `${tn}u`)}
  ${setups.join("\n  ")}
  let tx = lid % ${qb}u;
  let ty = lid / ${qb}u;
  ${rows.map((i) => `var acc${i} = vec4<f32>(0.0);`).join("\n  ")}
  for (var k0 = 0u; k0 < params.mm_depth; k0 += ${tk}u) {
    ${loads.join("\n    ")}
    workgroupBarrier();
    ${rows.map((i) => `var part${i} = vec4<f32>(0.0);`).join("\n    ")}
    for (var kk = 0u; kk < ${tk}u; kk++) {
      let av = mm_a_tile[kk * ${qa}u + ty];
      let bv = mm_b_tile[kk * ${qb}u + tx];
      ${rows.map((i) => `part${i} = fma(vec4<f32>(av[${i}]), bv, part${i});`).join("\n      ")}
    }
    ${rows.map((i) => `acc${i} += part${i};`).join("\n    ")}
    workgroupBarrier();
  }
  let out_row = row0 + ty * 4u;
  let out_col = col0 + tx * 4u;
  ${
    rows.map((i) =>
      `if (out_row + ${i}u < params.mm_rows) { mm_store(batch, out_row + ${i}u, out_col, acc${i}); }`
    ).join("\n  ")
  }
}
`;
}

const range = (n: number) => [...Array(n).keys()];

/**
 * The register kernel's prologue: locates the invocation's block (`row`, `col`) and makes its
 * operand setups.
 */
function registerPrologue(tile: RegisterTile, aSetups: number[], bSetups: number[]): string {
  const aStride = tile.a === "k4" ? 1 : 4, bStride = tile.b === "k4" ? 1 : 4;
  return `${tileOrigin("params.mm_tile_rows", "params.mm_tile_cols")}
  let gx = params.mm_tile_cols / ${tile.rn}u;
  let row = row0 + (lid / gx) * ${tile.rm}u;
  let col = col0 + (lid % gx) * ${tile.rn}u;
  ${aSetups.map((j) => `let a_set${j} = mm_a_setup(batch, row + ${aStride * j}u);`).join("\n  ")}
  ${bSetups.map((l) => `let b_set${l} = mm_b_setup(batch, col + ${bStride * l}u);`).join("\n  ")}`;
}

/**
 * The register kernel's stores of its accumulators `acc<row>_<quad>`, unrolled or `looped`:
 * a loop over the column quads whose body stores one quad of every row, picked from the
 * accumulators by `select` (a few vector blends). On lavapipe every store site is a loop over
 * the SIMD lanes, and so is each buffer load of the op's epilogue (bias, residual): rm x rn / 4
 * unrolled stores made a ResNet-50 conv pipeline take LLVM 1.1-1.3 s to compile, the loop
 * 0.45 s (f32 runs bit-identical, ResNet-50 on the GPU 204.8 against 203.7 ms interleaved).
 * The int8 kernel's requantizing epilogue ran ResNet-50 int8 15% slower looped (192 against
 * 168 ms), so it stays unrolled, passing each store its column quad's `column<quad>`
 * (`mm_column`, module doc).
 */
function registerStores(tile: RegisterTile, looped: boolean): string {
  const quads = range(tile.rn / 4);
  // `args`: the stored column and value, and for the int8 kernel the column quad's values.
  const store = (i: number, args: string) =>
    `if (row + ${i}u < params.mm_rows) { mm_store(batch, row + ${i}u, ${args}); }`;
  if (!looped) {
    return range(tile.rm).flatMap((i) =>
      quads.map((l) => store(i, `col + ${4 * l}u, acc${i}_${l}, column${l}`))
    )
      .join("\n  ");
  }
  const pick = (i: number) =>
    quads.slice(1).reduce((v, l) => `select(${v}, acc${i}_${l}, l == ${l}u)`, `acc${i}_0`);
  return `for (var l = 0u; l < ${quads.length}u; l++) {
    ${range(tile.rm).map((i) => store(i, `col + 4u * l, ${pick(i)}`)).join("\n    ")}
  }`;
}

/** The register kernel on packed int8 operands (module doc). */
function packedRegisterWgsl(tile: RegisterTile, decls: string): string {
  const rows = range(tile.rm), columns = range(tile.rn), quads = range(tile.rn / 4);
  const dots = quads.flatMap((l) =>
    rows.map((i) =>
      `acc${i}_${l} += vec4<i32>(${
        range(4).map((c) => `dot4I8Packed(a${i}, b${4 * l + c})`).join(", ")
      });`
    )
  );
  // A quad of columns loads their 4 words at once (vec4<u32>); k4 columns one word each.
  const columnLoads = tile.b === "quad"
    ? quads.flatMap((l) => [
      `let bq${l} = mm_load_b(b_set${l}, d0);`,
      ...range(4).map((c) => `let b${4 * l + c} = bq${l}[${c}];`),
    ])
    : columns.map((c) => `let b${c} = mm_load_b(b_set${c}, d0);`);
  return /* wgsl */ `${decls}

@compute @workgroup_size(${REGISTER_THREADS})
${MAIN_SIGNATURE} {
  ${registerPrologue(tile, rows, tile.b === "quad" ? quads : columns)}
  ${rows.flatMap((i) => quads.map((l) => `var acc${i}_${l} = vec4<i32>();`)).join("\n  ")}
  var d = mm_depth(0u);
  for (var k = 0u; k < params.mm_depth; k += 4u) {
    let d0 = d;
    d = mm_depth_next4(d0);
    ${rows.map((i) => `let a${i} = mm_load_a(a_set${i}, d0);`).join("\n    ")}
    ${columnLoads.join("\n    ")}
    ${dots.join("\n    ")}
  }
  ${quads.map((l) => `let column${l} = mm_column(batch, col + ${4 * l}u);`).join("\n  ")}
  ${registerStores(tile, false)}
}
`;
}

/** The register kernel (module doc). */
function registerWgsl(tile: RegisterTile, decls: string): string {
  const { rm, rn } = tile;
  const chunk = tile.a === "k4" || tile.b === "k4" ? 4 : 1;
  const quadsB = range(rn / 4);
  const rows = range(rm);
  const depths = range(chunk);
  const cells = rows.flatMap((i) => quadsB.map((l) => `${i}_${l}`));
  // One setup per row (k4) or row quad (quad), likewise for columns.
  const aSetups = tile.a === "k4" ? rows : range(rm / 4);
  const bSetups = tile.b === "k4" ? range(rn) : quadsB;
  const loads: string[] = [];
  if (tile.a === "k4") {
    loads.push(...rows.map((i) => `let a${i} = mm_load_a(a_set${i}, d0);`));
  } else {
    for (const kk of depths) {
      loads.push(...aSetups.map((j) => `let a${kk}_${j} = mm_load_a(a_set${j}, d${kk});`));
    }
  }
  if (tile.b === "k4") {
    loads.push(...bSetups.map((c) => `let b${c} = mm_load_b(b_set${c}, d0);`));
  } else {
    for (const kk of depths) {
      loads.push(...bSetups.map((l) => `let b${kk}_${l} = mm_load_b(b_set${l}, d${kk});`));
    }
  }
  const aAt = (i: number, kk: number) =>
    tile.a === "k4" ? `a${i}[${kk}]` : `a${kk}_${i >> 2}[${i & 3}]`;
  const bAt = (kk: number, l: number) =>
    tile.b === "k4"
      ? `vec4<f32>(${range(4).map((c) => `b${4 * l + c}[${kk}]`).join(", ")})`
      : `b${kk}_${l}`;
  const fmas = depths.flatMap((kk) =>
    rows.flatMap((i) =>
      quadsB.map((l) =>
        `part${cells[i * quadsB.length + l]} = fma(vec4<f32>(${aAt(i, kk)}), ${bAt(kk, l)}, part${
          cells[i * quadsB.length + l]
        });`
      )
    )
  );
  const cursors = depths.map((kk) =>
    `let d${kk} = ${kk === 0 ? "d" : `mm_depth_next(d${kk - 1})`};`
  );
  return /* wgsl */ `${decls}

@compute @workgroup_size(${REGISTER_THREADS})
${MAIN_SIGNATURE} {
  ${registerPrologue(tile, aSetups, bSetups)}
  ${cells.map((c) => `var acc${c} = vec4<f32>(0.0);`).join("\n  ")}
  var d = mm_depth(0u);
  for (var k0 = 0u; k0 < params.mm_depth; k0 += params.mm_step) {
    ${cells.map((c) => `var part${c} = vec4<f32>(0.0);`).join("\n    ")}
    let k1 = min(k0 + params.mm_step, params.mm_depth);
    for (var k = k0; k < k1; k += ${chunk}u) {
      ${cursors.join("\n      ")}
      d = mm_depth_next(d${chunk - 1});
      ${loads.join("\n      ")}
      ${fmas.join("\n      ")}
    }
    ${cells.map((c) => `acc${c} += part${c};`).join("\n    ")}
  }
  ${registerStores(tile, true)}
}
`;
}
