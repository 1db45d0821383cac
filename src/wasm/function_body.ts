/**
 * The body of one WebAssembly function: its locals and its instruction bytes, emitted by name.
 * Only the instructions resin's generated kernels use are here (i32 arithmetic and compares,
 * loops, ifs, indirect calls, scalar and SIMD memory access, f32, f32x4 and integer SIMD
 * arithmetic, conversions and narrowing, lane access and shuffles, relaxed-SIMD fused
 * multiply-add); opcodes follow the WebAssembly 2.0 binary format and the relaxed-SIMD
 * proposal.
 *
 * @module
 */

import { signedLeb128, unsignedLeb128 } from "./leb128.ts";

/** A WebAssembly value type. */
export type ValType = "i32" | "f32" | "v128";

/** Binary encoding of each value type. */
export const VALTYPE_CODE: Readonly<Record<ValType, number>> = {
  i32: 0x7f,
  f32: 0x7d,
  v128: 0x7b,
};

/** A SIMD (0xfd-prefixed) opcode: the prefix then the sub-opcode as unsigned LEB128. */
const simd = (code: number) => [0xfd, ...unsignedLeb128(code)];

/** Instructions without immediates, by their text-format name. */
const PLAIN = {
  "select": [0x1b],
  "i32.eqz": [0x45],
  "i32.eq": [0x46],
  "i32.lt_u": [0x49],
  "i32.le_u": [0x4d],
  "i32.add": [0x6a],
  "i32.sub": [0x6b],
  "i32.mul": [0x6c],
  "i32.div_u": [0x6e],
  "i32.rem_u": [0x70],
  "i32.and": [0x71],
  "i32.or": [0x72],
  "i32.shl": [0x74],
  "i32.shr_u": [0x76],
  "f32.add": [0x92],
  "f32.mul": [0x94],
  "f32.min": [0x96],
  "f32.max": [0x97],
  "i8x16.splat": simd(0x0f),
  "i16x8.splat": simd(0x10),
  "i32x4.splat": simd(0x11),
  "f32x4.splat": simd(0x13),
  "i8x16.narrow_i16x8_s": simd(0x65),
  "i8x16.narrow_i16x8_u": simd(0x66),
  "f32x4.nearest": simd(0x6a),
  "i8x16.max_s": simd(0x78),
  "i8x16.max_u": simd(0x79),
  "i16x8.narrow_i32x4_s": simd(0x85),
  "i16x8.add": simd(0x8e),
  "i16x8.sub": simd(0x91),
  "i32x4.shr_s": simd(0xac),
  "i32x4.add": simd(0xae),
  "i32x4.sub": simd(0xb1),
  "i32x4.mul": simd(0xb5),
  "i32x4.dot_i16x8_s": simd(0xba),
  "i32x4.extmul_low_i16x8_s": simd(0xbc),
  "i32x4.extmul_high_i16x8_s": simd(0xbd),
  "f32x4.add": simd(0xe4),
  "f32x4.sub": simd(0xe5),
  "f32x4.mul": simd(0xe6),
  "f32x4.div": simd(0xe7),
  "f32x4.min": simd(0xe8),
  "f32x4.max": simd(0xe9),
  "f32x4.pmin": simd(0xea),
  "f32x4.pmax": simd(0xeb),
  "i32x4.trunc_sat_f32x4_s": simd(0xf8),
  "f32x4.convert_i32x4_s": simd(0xfa),
  "f32x4.relaxed_madd": simd(0x105),
} as const;

/** Name of an instruction without immediates. */
export type PlainOp = keyof typeof PLAIN;

/** Memory instructions: opcode bytes and natural alignment (log2 of bytes). */
const MEMORY = {
  "i32.load": { code: [0x28], align: 2 },
  "i32.load8_u": { code: [0x2d], align: 0 },
  "i32.store8": { code: [0x3a], align: 0 },
  "f32.load": { code: [0x2a], align: 2 },
  "i64.load": { code: [0x29], align: 3 },
  "f32.store": { code: [0x38], align: 2 },
  "i64.store": { code: [0x37], align: 3 },
  "v128.load": { code: simd(0x00), align: 4 },
  "v128.load8x8_s": { code: simd(0x01), align: 3 },
  "v128.load8x8_u": { code: simd(0x02), align: 3 },
  "v128.load32_splat": { code: simd(0x09), align: 2 },
  "v128.store": { code: simd(0x0b), align: 4 },
} as const;

/** Name of a memory instruction. */
export type MemoryOp = keyof typeof MEMORY;

/** Instructions with one lane-index immediate: opcode and lane count. */
const LANE = {
  "f32x4.replace_lane": { code: simd(0x20), lanes: 4 },
} as const;

/** Name of a lane instruction. */
export type LaneOp = keyof typeof LANE;

/** Memory instructions on one lane: opcode, natural alignment and lane count. */
const MEMORY_LANE = {
  "v128.store32_lane": { code: simd(0x5a), align: 2, lanes: 4 },
} as const;

/** Name of a memory instruction on one lane. */
export type MemoryLaneOp = keyof typeof MEMORY_LANE;

/** Block type byte for blocks, loops and ifs that take and leave nothing. */
const EMPTY_BLOCK = 0x40;

/**
 * Builds a function body. Parameters are locals 0..params-1; `addLocal` appends more.
 * `loop` and `if` open a label that `end()` closes; branch depths count outwards from the
 * innermost open label (0 = innermost), as in the binary format.
 *
 * @example
 * ```ts
 * const body = new FunctionBody(["i32", "i32"]);
 * body.localGet(0).localGet(1).op("i32.add");
 * const bytes = body.encode();
 * ```
 */
export class FunctionBody {
  readonly #params: readonly ValType[];
  readonly #locals: ValType[] = [];
  readonly #code: number[] = [];
  #depth = 0;

  /** A body for a function with these parameter types. */
  constructor(params: readonly ValType[]) {
    this.#params = params;
  }

  /** Declares a local of `type` and returns its index. */
  addLocal(type: ValType): number {
    this.#locals.push(type);
    return this.#params.length + this.#locals.length - 1;
  }

  /** Emits an instruction that has no immediates. */
  op(name: PlainOp): this {
    this.#code.push(...PLAIN[name]);
    return this;
  }

  /** `local.get index`. */
  localGet(index: number): this {
    return this.#withIndex(0x20, index);
  }

  /** `local.set index`. */
  localSet(index: number): this {
    return this.#withIndex(0x21, index);
  }

  /** `local.tee index`. */
  localTee(index: number): this {
    return this.#withIndex(0x22, index);
  }

  /** `i32.const value` (values of 2^31 and above are taken as their i32 bit pattern). */
  i32Const(value: number): this {
    this.#code.push(0x41, ...signedLeb128(value));
    return this;
  }

  /** `f32.const value` (rounded to f32). */
  f32Const(value: number): this {
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    this.#code.push(0x43, ...bytes);
    return this;
  }

  /** `v128.const` of 16 zero bytes. */
  v128Zero(): this {
    this.#code.push(...simd(0x0c), ...new Array<number>(16).fill(0));
    return this;
  }

  /**
   * A load or store at the address on the stack plus the constant byte `offset`, with the
   * instruction's natural alignment as the alignment hint.
   */
  memory(name: MemoryOp, offset = 0): this {
    const { code, align } = MEMORY[name];
    this.#code.push(...code, ...unsignedLeb128(align), ...unsignedLeb128(offset));
    return this;
  }

  /**
   * `name offset lane`: a load or store of one lane of a v128, at the address on the stack
   * plus the constant byte `offset`.
   */
  memoryLane(name: MemoryLaneOp, offset: number, lane: number): this {
    const { code, align, lanes } = MEMORY_LANE[name];
    if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) {
      throw new RangeError(`FunctionBody.memoryLane: ${name} has no lane ${lane}`);
    }
    this.#code.push(...code, ...unsignedLeb128(align), ...unsignedLeb128(offset), lane);
    return this;
  }

  /** `name lane`: an instruction on one lane of the v128 on the stack. */
  lane(name: LaneOp, lane: number): this {
    const { code, lanes } = LANE[name];
    if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) {
      throw new RangeError(`FunctionBody.lane: ${name} has no lane ${lane}`);
    }
    this.#code.push(...code, lane);
    return this;
  }

  /** `i8x16.shuffle`: byte i of the result is byte `bytes[i]` of the two v128s (0-31). */
  shuffle(bytes: readonly number[]): this {
    if (bytes.length !== 16 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b < 32)) {
      throw new RangeError(`FunctionBody.shuffle: [${bytes}] is not 16 byte indices below 32`);
    }
    this.#code.push(...simd(0x0d), ...bytes);
    return this;
  }

  /** Opens a `block` (a branch to it jumps past its end). */
  block(): this {
    return this.#open(0x02);
  }

  /** Opens a `loop` (a branch to it jumps back to its start). */
  loop(): this {
    return this.#open(0x03);
  }

  /** Opens an `if` on the i32 popped from the stack. */
  if(): this {
    return this.#open(0x04);
  }

  /** Starts the `else` branch of the innermost open `if`. */
  else(): this {
    if (this.#depth === 0) throw new Error("FunctionBody.else: no if is open");
    this.#code.push(0x05);
    return this;
  }

  /** Closes the innermost open block, loop or if. */
  end(): this {
    if (this.#depth === 0) throw new Error("FunctionBody.end: no block is open");
    this.#depth--;
    this.#code.push(0x0b);
    return this;
  }

  /** `br_if depth`: branches when the popped i32 is non-zero. */
  brIf(depth: number): this {
    return this.#withIndex(0x0d, depth);
  }

  /** `call_indirect` through table 0 with the signature `typeIndex`; pops the table slot. */
  callIndirect(typeIndex: number): this {
    this.#code.push(0x11, ...unsignedLeb128(typeIndex), 0x00);
    return this;
  }

  /** The body as the code section encodes it (without the size prefix): locals, code, `end`. */
  encode(): number[] {
    if (this.#depth !== 0) {
      throw new Error(`FunctionBody.encode: ${this.#depth} block(s) left open`);
    }
    const runs: [number, ValType][] = [];
    for (const type of this.#locals) {
      const last = runs.at(-1);
      if (last && last[1] === type) last[0]++;
      else runs.push([1, type]);
    }
    return [
      ...unsignedLeb128(runs.length),
      ...runs.flatMap(([count, type]) => [...unsignedLeb128(count), VALTYPE_CODE[type]]),
      ...this.#code,
      0x0b,
    ];
  }

  #open(opcode: number): this {
    this.#depth++;
    this.#code.push(opcode, EMPTY_BLOCK);
    return this;
  }

  #withIndex(opcode: number, index: number): this {
    this.#code.push(opcode, ...unsignedLeb128(index));
    return this;
  }
}
