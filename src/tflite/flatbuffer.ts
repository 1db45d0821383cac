/**
 * A small, bounds-checked reader for the FlatBuffers binary format: the root table offset,
 * the 4-byte file identifier, tables with their vtables, scalars with defaults, strings,
 * vectors of scalars and of tables, and union fields. Only what the TFLite schema needs.
 *
 * Format (https://flatbuffers.dev/internals/): every offset is little-endian; a table at
 * position `t` starts with an int32 `soffset` and its vtable lies at `t - soffset`: uint16
 * vtable size, uint16 table size, then one uint16 per field id, the field's offset from `t`
 * (0: absent, the default applies). Tables, strings and vectors are referenced through a
 * uint32 stored at position `p`, pointing at `p + value`. A vector or string is a uint32
 * element count followed by the elements (strings add a NUL).
 *
 * Every read checks its bytes lie inside the buffer and names the field path in its error,
 * so a truncated or corrupt file fails with one clear line instead of reading garbage.
 *
 * @example
 * ```ts
 * const root = rootTable(bytes, "Model");
 * const version = root.u32(0, 0);
 * const subgraphs = root.tables(2);
 * ```
 *
 * @module
 */

/** A malformed or truncated FlatBuffer: an offset or length points outside the buffer. */
export class FlatbufferError extends Error {
  override name = "FlatbufferError";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A buffer and a DataView on it, shared by every table read from it. */
class ByteSource {
  readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Checks that `[pos, pos + size)` lies inside the buffer; `what` names the read. */
  check(pos: number, size: number, what: string): void {
    if (!Number.isSafeInteger(pos) || pos < 0 || size < 0 || pos + size > this.bytes.length) {
      throw new FlatbufferError(
        `${what} at byte ${pos} (${size} bytes) lies outside the ${this.bytes.length}-byte buffer`,
      );
    }
  }

  u32(pos: number, what: string): number {
    this.check(pos, 4, what);
    return this.view.getUint32(pos, true);
  }

  /** The position a uint32 offset stored at `pos` points to. */
  deref(pos: number, what: string): number {
    return pos + this.u32(pos, what);
  }
}

/** Scalar element types of fields and vectors, with their byte sizes. */
export const SCALAR_SIZES = {
  bool: 1,
  i8: 1,
  u8: 1,
  i16: 2,
  u16: 2,
  i32: 4,
  u32: 4,
  f32: 4,
  i64: 8,
  u64: 8,
  f64: 8,
} as const;

/** A scalar type name. */
export type ScalarType = keyof typeof SCALAR_SIZES;

function readScalar(view: DataView, pos: number, type: ScalarType, what: string): number {
  switch (type) {
    case "bool":
    case "u8":
      return view.getUint8(pos);
    case "i8":
      return view.getInt8(pos);
    case "i16":
      return view.getInt16(pos, true);
    case "u16":
      return view.getUint16(pos, true);
    case "i32":
      return view.getInt32(pos, true);
    case "u32":
      return view.getUint32(pos, true);
    case "f32":
      return view.getFloat32(pos, true);
    case "f64":
      return view.getFloat64(pos, true);
    case "i64":
    case "u64": {
      const big = type === "i64" ? view.getBigInt64(pos, true) : view.getBigUint64(pos, true);
      const v = Number(big);
      if (!Number.isSafeInteger(v)) {
        throw new FlatbufferError(`${what} holds ${big}, beyond the exactly representable range`);
      }
      return v;
    }
  }
}

/** One table of a FlatBuffer; field ids are the schema's declaration order (unions take two). */
export class Table {
  readonly #buf: ByteSource;
  readonly #pos: number;
  readonly #vtable: number;
  readonly #vtableSize: number;
  /** The field path used in errors, e.g. `Model.subgraphs[0]`. */
  readonly path: string;

  /** The table at byte `pos` of `buf`; `path` names it in errors. */
  constructor(buf: ByteSource, pos: number, path: string) {
    buf.check(pos, 4, `${path} table`);
    const vtable = pos - buf.view.getInt32(pos, true);
    const vtableSize = buf.u32(vtable, `${path} vtable`) & 0xffff;
    if (vtableSize < 4 || vtableSize % 2 !== 0) {
      throw new FlatbufferError(`${path} has a malformed vtable (size ${vtableSize})`);
    }
    buf.check(vtable, vtableSize, `${path} vtable`);
    this.#buf = buf;
    this.#pos = pos;
    this.#vtable = vtable;
    this.#vtableSize = vtableSize;
    this.path = path;
  }

  /** Byte position of field `id` in the buffer, or 0 when the field is absent. */
  #field(id: number): number {
    const entry = 4 + 2 * id;
    if (entry + 2 > this.#vtableSize) return 0;
    const offset = this.#buf.view.getUint16(this.#vtable + entry, true);
    return offset === 0 ? 0 : this.#pos + offset;
  }

  /** True when field `id` is present. */
  has(id: number): boolean {
    return this.#field(id) !== 0;
  }

  /** Scalar field `id` of `type`, or `fallback` when absent. */
  scalar(id: number, type: ScalarType, fallback: number): number {
    const pos = this.#field(id);
    if (pos === 0) return fallback;
    const what = `${this.path} field ${id}`;
    this.#buf.check(pos, SCALAR_SIZES[type], what);
    return readScalar(this.#buf.view, pos, type, what);
  }

  /** Table field `id`, or `undefined` when absent; `name` extends the error path. */
  table(id: number, name: string): Table | undefined {
    const pos = this.#field(id);
    if (pos === 0) return undefined;
    const path = `${this.path}.${name}`;
    return new Table(this.#buf, this.#buf.deref(pos, path), path);
  }

  /** String field `id` (UTF-8), or `""` when absent. */
  string(id: number, name: string): string {
    const bytes = this.bytes(id, name);
    try {
      return utf8.decode(bytes);
    } catch {
      throw new FlatbufferError(`${this.path}.${name} is not valid UTF-8`);
    }
  }

  /**
   * The byte position of the first element and the element count of vector field `id` of
   * `size`-byte elements (`{start: 0, length: 0}` when absent); `name` extends the error path.
   */
  vectorRange(id: number, size: number, name: string): { start: number; length: number } {
    return this.#vector(id, size, `${this.path}.${name}`);
  }

  #vector(id: number, size: number, path: string): { start: number; length: number } {
    const pos = this.#field(id);
    if (pos === 0) return { start: 0, length: 0 };
    const at = this.#buf.deref(pos, path);
    const length = this.#buf.u32(at, `${path} length`);
    this.#buf.check(at + 4, length * size, `${path} (${length} elements)`);
    return { start: at + 4, length };
  }

  /** Vector-of-bytes (or string) field `id` as a view into the buffer; empty when absent. */
  bytes(id: number, name: string): Uint8Array {
    const { start, length } = this.#vector(id, 1, `${this.path}.${name}`);
    return this.#buf.bytes.subarray(start, start + length);
  }

  /** Vector-of-scalars field `id` as numbers; empty when absent. */
  scalars(id: number, type: ScalarType, name: string): number[] {
    const path = `${this.path}.${name}`;
    const size = SCALAR_SIZES[type];
    const { start, length } = this.#vector(id, size, path);
    return Array.from(
      { length },
      (_, i) => readScalar(this.#buf.view, start + i * size, type, `${path}[${i}]`),
    );
  }

  /** Vector-of-tables field `id`; empty when absent. */
  tables(id: number, name: string): Table[] {
    const path = `${this.path}.${name}`;
    const { start, length } = this.#vector(id, 4, path);
    return Array.from({ length }, (_, i) => {
      const element = `${path}[${i}]`;
      return new Table(this.#buf, this.#buf.deref(start + 4 * i, element), element);
    });
  }
}

/**
 * The root table of the FlatBuffer `bytes`, named `rootName` in errors; checks the file
 * identifier when `identifier` is given.
 */
export function rootTable(bytes: Uint8Array, rootName: string, identifier?: string): Table {
  const buf = new ByteSource(bytes);
  if (bytes.length < 8) {
    throw new FlatbufferError(`The buffer has ${bytes.length} bytes, too few for a FlatBuffer`);
  }
  if (identifier !== undefined) {
    const found = String.fromCharCode(...bytes.subarray(4, 8));
    if (found !== identifier) {
      throw new FlatbufferError(
        `File identifier is ${JSON.stringify(found)}, expected ${JSON.stringify(identifier)}`,
      );
    }
  }
  return new Table(buf, buf.deref(0, `${rootName} offset`), rootName);
}
