/**
 * The tiled matmul core shared by the Conv (implicit GEMM), Gemm and MatMul kernels.
 *
 * Problem: for each `batch`, C[rows, cols] = sum over k < depth of A(row, k) * B(k, col). The
 * op supplies how A and B are read (any layout, computed on the fly: an implicit im2col for
 * Conv) and how C is stored (its epilogue), as WGSL functions; this module writes the rest.
 *
 * Kernel (`tiledMatmulWgsl`):
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
 *   multiply-adds (4 vec4 fmas). Each depth step sums into fresh `part` registers that are
 *   then added to `acc`: a two-level (blocked) summation whose rounding error grows with
 *   tk + depth/tk instead of depth, for 4 extra vec4 adds per step. It halves the whole-model
 *   error of deep networks against onnxruntime.
 * - The depth tail is zero-filled here; rows/columns past the edge are computed from clamped
 *   (in-bounds) reads and never stored.
 *
 * Why it beats a naive one-output-per-invocation kernel: a naive kernel loads 2 values from
 * global memory per multiply-add; here each global load feeds tm (B) or tn (A) multiply-adds
 * across the workgroup and each workgroup-memory load feeds 4, and the Conv patch decoding
 * is paid once per invocation instead of once per multiply-add.
 *
 * Hooks the op's WGSL (`TiledMatmulSource.decls`) must define, besides its bindings and a
 * `params` uniform whose struct includes `MATMUL_UNIFORMS`:
 * - `struct MmASetup`, `fn mm_a_setup(batch: u32, row: u32) -> MmASetup` (rows row..row+3,
 *   possibly past the edge) and `fn mm_load_a(s: MmASetup, k: u32) -> vec4<f32>` returning
 *   A(row+i, k), called only with k < depth; reads must stay in bounds.
 * - `struct MmBSetup`, `fn mm_b_setup(batch: u32, col: u32) -> MmBSetup` and
 *   `fn mm_load_b(s: MmBSetup, k: u32) -> vec4<f32>` returning B(k, col+i), likewise.
 * - `fn mm_store(batch: u32, row: u32, col: u32, v: vec4<f32>)` storing C(row, col+i) = v[i]
 *   for col+i < cols; called only with row < rows.
 *
 * @module
 */

import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "./grid.ts";

/**
 * A workgroup tile: tm x tn outputs, tk depths per step; each invocation computes rm x rn
 * of them (so the workgroup has (tm / rm) * (tn / rn) invocations).
 */
export interface MatmulTile {
  /** Name used in pipeline keys. */
  readonly name: string;
  /** Rows per tile (multiple of rm). */
  readonly tm: number;
  /** Columns per tile (multiple of rn). */
  readonly tn: number;
  /** Depths per step. */
  readonly tk: number;
  /** Rows per invocation (multiple of 4). */
  readonly rm: number;
  /** Columns per invocation (multiple of 4). */
  readonly rn: number;
  /** Where operands come from: staged in workgroup memory, or read straight into registers. */
  readonly kind?: "shared" | "registers";
}

/**
 * The tile configurations: `large` (256 invocations) for the usual many-row problems,
 * `small` (64 invocations) for problems of at most 16 rows (classifier Gemm at batch 1,
 * narrow groups), where a 64-row tile would mostly compute discarded rows.
 */
export const MATMUL_TILES = {
  large: { name: "t64x64x16", tm: 64, tn: 64, tk: 16, rm: 4, rn: 4 },
  small: { name: "t16x64x16", tm: 16, tn: 64, tk: 16, rm: 4, rn: 4 },
} as const satisfies Record<string, MatmulTile>;

/** The tile configuration for a problem with `rows` rows. */
export function matmulTileFor(rows: number): MatmulTile {
  const env = Deno.env.get("RESIN_TILE");
  if (env) {
    const [kind, tm, tn, tk, rm, rn] = env.split(",");
    return {
      name: `${kind}${tm}x${tn}x${tk}r${rm}x${rn}`,
      kind: kind === "r" ? "registers" : "shared",
      tm: +tm, tn: +tn, tk: +tk, rm: +rm, rn: +rn,
    };
  }
  return rows <= MATMUL_TILES.small.tm ? MATMUL_TILES.small : MATMUL_TILES.large;
}

/** Which index varies fastest across invocations when staging a tile: depth or quad. */
export type LoadOrder = "k" | "quad";

/** The op-specific part of a tiled matmul kernel. */
export interface TiledMatmulSource {
  /** Tile configuration. */
  tile: MatmulTile;
  /** Staging order for A: `"k"` when A(row, k) is contiguous along k. */
  aOrder: LoadOrder;
  /** Staging order for B: `"quad"` when B(k, col) is contiguous along col. */
  bOrder: LoadOrder;
  /** Bindings, `params`, and the hook functions described in the module doc. */
  decls: string;
}

/** Uniform fields the core reads; the op's `Params` struct must include them. */
export const MATMUL_UNIFORMS = {
  mm_rows: "u32",
  mm_cols: "u32",
  mm_depth: "u32",
  mm_tiles_m: "u32",
  mm_tiles_n: "u32",
  mm_count: "u32",
} as const;

/** Values of `MATMUL_UNIFORMS`. */
export type MatmulUniformValues = { [K in keyof typeof MATMUL_UNIFORMS]: number };

/**
 * Uniform values and workgroup grid for a `batches` x [rows, cols] x depth problem.
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
  const tilesM = Math.ceil(rows / tile.tm);
  const tilesN = Math.ceil(cols / tile.tn);
  const count = tilesM * tilesN * batches;
  return {
    uniforms: {
      mm_rows: rows,
      mm_cols: cols,
      mm_depth: depth,
      mm_tiles_m: tilesM,
      mm_tiles_n: tilesN,
      mm_count: count,
    },
    workgroups: workgroupGrid(count, maxPerDimension),
  };
}

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

/** Register-blocked kernel without workgroup memory. */
function registersWgsl(source: TiledMatmulSource): string {
  const { tm, tn, tk, rm, rn } = source.tile;
  const gx = tn / rn, gy = tm / rm;
  const threads = gx * gy;
  const aq = [...Array(rm / 4).keys()];
  const bq = [...Array(rn / 4).keys()];
  const rows = [...Array(rm).keys()];
  const cells = rows.flatMap((i) => bq.map((l) => `${i}_${l}`));
  return /* wgsl */ `${source.decls}

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let flat = ${FLAT_WORKGROUP_INDEX};
  if (flat >= params.mm_count) { return; }
  let tile_m = flat % params.mm_tiles_m;
  let rest = flat / params.mm_tiles_m;
  let batch = rest / params.mm_tiles_n;
  let row = tile_m * ${tm}u + (lid / ${gx}u) * ${rm}u;
  let col = (rest % params.mm_tiles_n) * ${tn}u + (lid % ${gx}u) * ${rn}u;
  ${aq.map((j) => `let a_set${j} = mm_a_setup(batch, row + ${4 * j}u);`).join("\n  ")}
  ${bq.map((l) => `let b_set${l} = mm_b_setup(batch, col + ${4 * l}u);`).join("\n  ")}
  ${cells.map((c) => `var acc${c} = vec4<f32>(0.0);`).join("\n  ")}
  for (var k0 = 0u; k0 < params.mm_depth; k0 += ${tk}u) {
    ${cells.map((c) => `var part${c} = vec4<f32>(0.0);`).join("\n    ")}
    let k1 = min(k0 + ${tk}u, params.mm_depth);
    for (var k = k0; k < k1; k++) {
      ${aq.map((j) => `let a${j} = mm_load_a(a_set${j}, k);`).join("\n      ")}
      ${bq.map((l) => `let b${l} = mm_load_b(b_set${l}, k);`).join("\n      ")}
      ${
    rows.flatMap((i) =>
      bq.map((l) =>
        `part${i}_${l} = fma(vec4<f32>(a${i >> 2}[${i & 3}]), b${l}, part${i}_${l});`
      )
    ).join("\n      ")
  }
    }
    ${cells.map((c) => `acc${c} += part${c};`).join("\n    ")}
  }
  ${
    rows.flatMap((i) =>
      bq.map((l) =>
        `if (row + ${i}u < params.mm_rows) { mm_store(batch, row + ${i}u, col + ${
          4 * l
        }u, acc${i}_${l}); }`
      )
    ).join("\n  ")
  }
}
`;
}

/** Returns the complete WGSL of a tiled matmul kernel around the op's `source`. */
export function tiledMatmulWgsl(source: TiledMatmulSource): string {
  if (source.tile.kind === "registers") return registersWgsl(source);
  const { tm, tn, tk, rm, rn } = source.tile;
  const qa = tm / 4, qb = tn / 4;
  const gx = tn / rn, gy = tm / rm;
  const threads = gx * gy;
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
        `  if (k < params.mm_depth) { v = mm_load_${p}(${p}_set${r}, k); }`,
        `  mm_${p}_tile[${p}_kk${r} * ${quads}u + ${p}_q${r}] = v; }`,
      );
    }
  }
  const aq = [...Array(rm / 4).keys()];
  const bq = [...Array(rn / 4).keys()];
  const rows = [...Array(rm).keys()];
  const cells = rows.flatMap((i) => bq.map((l) => `${i}_${l}`));
  return /* wgsl */ `${source.decls}

var<workgroup> mm_a_tile: array<vec4<f32>, ${tk * qa}>;
var<workgroup> mm_b_tile: array<vec4<f32>, ${tk * qb}>;

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let flat = ${FLAT_WORKGROUP_INDEX};
  if (flat >= params.mm_count) { return; }
  let tile_m = flat % params.mm_tiles_m;
  let rest = flat / params.mm_tiles_m;
  let batch = rest / params.mm_tiles_n;
  let row0 = tile_m * ${tm}u;
  let col0 = (rest % params.mm_tiles_n) * ${tn}u;
  ${setups.join("\n  ")}
  let tx = lid % ${gx}u;
  let ty = lid / ${gx}u;
  ${cells.map((c) => `var acc${c} = vec4<f32>(0.0);`).join("\n  ")}
  for (var k0 = 0u; k0 < params.mm_depth; k0 += ${tk}u) {
    ${loads.join("\n    ")}
    workgroupBarrier();
    ${cells.map((c) => `var part${c} = vec4<f32>(0.0);`).join("\n    ")}
    for (var kk = 0u; kk < ${tk}u; kk++) {
      ${aq.map((j) => `let a${j} = mm_a_tile[kk * ${qa}u + ${j * gy}u + ty];`).join("\n      ")}
      ${bq.map((l) => `let b${l} = mm_b_tile[kk * ${qb}u + ${l * gx}u + tx];`).join("\n      ")}
      ${
    rows.flatMap((i) =>
      bq.map((l) =>
        `part${i}_${l} = fma(vec4<f32>(a${i >> 2}[${i & 3}]), b${l}, part${i}_${l});`
      )
    ).join("\n      ")
  }
    }
    ${cells.map((c) => `acc${c} += part${c};`).join("\n    ")}
    workgroupBarrier();
  }
  ${
    rows.flatMap((i) =>
      bq.map((l) => {
        const row = `row0 + ${(i >> 2) * gy * 4}u + ty * 4u + ${i & 3}u`;
        const col = `col0 + ${l * gx * 4}u + tx * 4u`;
        return `{ let r = ${row}; if (r < params.mm_rows) { mm_store(batch, r, ${col}, acc${i}_${l}); } }`;
      })
    ).join("\n  ")
  }
}
`;
}
