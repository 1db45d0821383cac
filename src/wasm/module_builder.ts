/**
 * Assembles a WebAssembly module in the binary format: function types, an imported memory,
 * functions with their bodies (function_body.ts), exports, and a function table for
 * `call_indirect`. Sections are written in the order the format requires.
 *
 * @module
 */

import { FunctionBody, type ValType, VALTYPE_CODE } from "./function_body.ts";
import { unsignedLeb128 } from "./leb128.ts";

/** Limits of an imported linear memory, in 64 KiB pages. */
export interface MemoryLimits {
  /** Initial size. */
  minPages: number;
  /** Largest size; absent for no maximum (a shared memory needs one). */
  maxPages?: number;
  /** A shared memory (threads: a SharedArrayBuffer that workers address too). */
  shared?: boolean;
}

/** A function added to a module: its index (for `call`, exports, tables) and its body. */
export interface ModuleFunction {
  /** Function index. */
  index: number;
  /** Body to emit the instructions into. */
  body: FunctionBody;
}

/** Section ids of the binary format. */
const SECTION = { type: 1, import: 2, function: 3, table: 4, export: 7, element: 9, code: 10 };
/** External kinds of imports and exports. */
const EXTERNAL = { function: 0x00, memory: 0x02 };
const FUNCREF = 0x70;

/**
 * Builds one module. Functions are numbered in the order they are added (the module imports
 * no functions).
 *
 * @example
 * ```ts
 * const mod = new ModuleBuilder();
 * const add = mod.addFunction(["i32", "i32"], ["i32"]);
 * add.body.localGet(0).localGet(1).op("i32.add");
 * mod.exportFunction("add", add.index);
 * const instance = new WebAssembly.Instance(new WebAssembly.Module(mod.encode()));
 * ```
 */
export class ModuleBuilder {
  readonly #types: string[] = [];
  readonly #typeBytes: number[][] = [];
  readonly #imports: number[][] = [];
  readonly #functions: { type: number; body: FunctionBody }[] = [];
  readonly #exports: number[][] = [];
  #table: number[] = [];

  /** The index of the function type `params -> results`, added on first use. */
  addType(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(",")}->${results.join(",")}`;
    const known = this.#types.indexOf(key);
    if (known >= 0) return known;
    this.#types.push(key);
    this.#typeBytes.push([0x60, ...valTypes(params), ...valTypes(results)]);
    return this.#types.length - 1;
  }

  /** Imports the module's linear memory as `module.name`. */
  importMemory(module: string, name: string, limits: MemoryLimits): void {
    const { minPages, maxPages, shared = false } = limits;
    if (shared && maxPages === undefined) {
      throw new RangeError("ModuleBuilder.importMemory: a shared memory needs maxPages");
    }
    this.#imports.push([
      ...utf8(module),
      ...utf8(name),
      EXTERNAL.memory,
      (maxPages === undefined ? 0x00 : 0x01) | (shared ? 0x02 : 0x00),
      ...unsignedLeb128(minPages),
      ...(maxPages === undefined ? [] : unsignedLeb128(maxPages)),
    ]);
  }

  /** Adds a function `params -> results`; emit its instructions into the returned body. */
  addFunction(params: readonly ValType[], results: readonly ValType[]): ModuleFunction {
    const type = this.addType(params, results);
    const body = new FunctionBody(params);
    this.#functions.push({ type, body });
    return { index: this.#functions.length - 1, body };
  }

  /** Exports function `index` as `name`. */
  exportFunction(name: string, index: number): void {
    this.#exports.push([...utf8(name), EXTERNAL.function, ...unsignedLeb128(index)]);
  }

  /** Sets table 0 to hold these functions at slots 0, 1, ... (for `call_indirect`). */
  setTable(functionIndices: readonly number[]): void {
    this.#table = [...functionIndices];
  }

  /** The module's bytes. */
  encode(): Uint8Array<ArrayBuffer> {
    const slots = this.#table.length;
    const sections = [
      section(SECTION.type, vector(this.#typeBytes)),
      section(SECTION.import, vector(this.#imports)),
      section(SECTION.function, vector(this.#functions.map((f) => unsignedLeb128(f.type)))),
      slots > 0 ? section(SECTION.table, vector([[FUNCREF, 0x00, ...unsignedLeb128(slots)]])) : [],
      section(SECTION.export, vector(this.#exports)),
      // One active segment for table 0 at offset (i32.const 0).
      slots > 0
        ? section(
          SECTION.element,
          vector([[0x00, 0x41, 0x00, 0x0b, ...vector(this.#table.map((i) => unsignedLeb128(i)))]]),
        )
        : [],
      section(SECTION.code, vector(this.#functions.map((f) => sized(f.body.encode())))),
    ];
    const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    return new Uint8Array([...header, ...sections.flat()]);
  }
}

/** A vector of value types: count, then one byte each. */
function valTypes(types: readonly ValType[]): number[] {
  return [...unsignedLeb128(types.length), ...types.map((t) => VALTYPE_CODE[t])];
}

/** A name: byte length, then UTF-8 bytes. */
function utf8(text: string): number[] {
  return sized([...new TextEncoder().encode(text)]);
}

/** A vector: element count, then the elements' bytes. */
function vector(items: readonly number[][]): number[] {
  return [...unsignedLeb128(items.length), ...items.flat()];
}

/** Bytes prefixed with their length. */
function sized(bytes: number[]): number[] {
  return [...unsignedLeb128(bytes.length), ...bytes];
}

/** A section: id, size, contents; empty sections are left out. */
function section(id: number, contents: number[]): number[] {
  return contents.length === 1 && contents[0] === 0 ? [] : [id, ...sized(contents)];
}
