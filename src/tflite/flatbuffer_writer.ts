/**
 * A small FlatBuffers writer, the twin of flatbuffer.ts: it lays a tree of tables out front
 * to back (each table preceded by its vtable, every referenced object after its reference)
 * with natural alignment. Used by the tests to build TFLite files, well-formed or broken.
 *
 * @example
 * ```ts
 * const bytes = writeFlatbuffer(
 *   fbTable([fbScalar("u32", 3), undefined, fbTables([fbTable([fbString("main")])])]),
 *   "TFL3",
 * );
 * ```
 *
 * @module
 */

import { SCALAR_SIZES, type ScalarType } from "./flatbuffer.ts";

/** A field value: a scalar, or an object referenced by offset. */
export type FbField =
  | { kind: "scalar"; type: ScalarType; value: number }
  | { kind: "table"; table: FbTable }
  | { kind: "string"; value: string }
  | { kind: "vector"; type: ScalarType; values: readonly number[] }
  | { kind: "tables"; tables: readonly FbTable[] };

/** A table: `fields[id]` is field `id`, `undefined` where absent. */
export interface FbTable {
  fields: readonly (FbField | undefined)[];
}

/** A table of `fields` (index = field id). */
export function fbTable(fields: readonly (FbField | undefined)[]): FbTable {
  return { fields };
}

/** A scalar field. */
export function fbScalar(type: ScalarType, value: number): FbField {
  return { kind: "scalar", type, value };
}

/** A string field. */
export function fbString(value: string): FbField {
  return { kind: "string", value };
}

/** A vector-of-scalars field (bytes: type `u8`). */
export function fbVector(type: ScalarType, values: ArrayLike<number>): FbField {
  return { kind: "vector", type, values: Array.from(values) };
}

/** A vector-of-tables field. */
export function fbTables(tables: readonly FbTable[]): FbField {
  return { kind: "tables", tables };
}

/** A table field. */
export function fbSubtable(table: FbTable): FbField {
  return { kind: "table", table };
}

const utf8 = new TextEncoder();

/** A growing little-endian byte buffer. */
class Output {
  #bytes = new Uint8Array(256);
  #view = new DataView(this.#bytes.buffer);
  length = 0;

  /** Reserves `size` zero bytes at a position aligned to `align`; returns that position. */
  reserve(size: number, align = 1): number {
    const pos = Math.ceil(this.length / align) * align;
    const end = pos + size;
    if (end > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(end, 2 * this.#bytes.length));
      grown.set(this.#bytes);
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.length = end;
    return pos;
  }

  scalar(pos: number, type: ScalarType, value: number): void {
    const v = this.#view;
    switch (type) {
      case "bool":
      case "u8":
        return v.setUint8(pos, value);
      case "i8":
        return v.setInt8(pos, value);
      case "i16":
        return v.setInt16(pos, value, true);
      case "u16":
        return v.setUint16(pos, value, true);
      case "i32":
        return v.setInt32(pos, value, true);
      case "u32":
        return v.setUint32(pos, value, true);
      case "f32":
        return v.setFloat32(pos, value, true);
      case "f64":
        return v.setFloat64(pos, value, true);
      case "i64":
        return v.setBigInt64(pos, BigInt(value), true);
      case "u64":
        return v.setBigUint64(pos, BigInt(value), true);
    }
  }

  /** Points the uint32 offset at `from` to `to` (which must lie after it). */
  link(from: number, to: number): void {
    this.scalar(from, "u32", to - from);
  }

  set(pos: number, bytes: Uint8Array): void {
    this.#bytes.set(bytes, pos);
  }

  finish(): Uint8Array {
    return this.#bytes.slice(0, this.length);
  }
}

function writeTable(out: Output, table: FbTable): number {
  const present = table.fields.flatMap((f, id) => (f ? [{ f, id }] : []));
  const vtableSize = 4 + 2 * table.fields.length;
  const vtable = out.reserve(vtableSize, 2);
  const pos = out.reserve(4, 8);
  // Larger fields first keeps padding small; each field is aligned to its own size.
  const sizeOf = (f: FbField) => (f.kind === "scalar" ? SCALAR_SIZES[f.type] : 4);
  const placed = [...present].sort((a, b) => sizeOf(b.f) - sizeOf(a.f)).map(({ f, id }) => ({
    f,
    id,
    at: out.reserve(sizeOf(f), sizeOf(f)),
  }));
  out.scalar(vtable, "u16", vtableSize);
  out.scalar(vtable + 2, "u16", out.length - pos);
  out.scalar(pos, "i32", pos - vtable);
  for (const { f, id, at } of placed) {
    out.scalar(vtable + 4 + 2 * id, "u16", at - pos);
    if (f.kind === "scalar") out.scalar(at, f.type, f.value);
  }
  for (const { f, at } of placed) if (f.kind !== "scalar") out.link(at, writeObject(out, f));
  return pos;
}

/** Writes the object an offset field refers to; returns its position. */
function writeObject(out: Output, f: Exclude<FbField, { kind: "scalar" }>): number {
  switch (f.kind) {
    case "table":
      return writeTable(out, f.table);
    case "string": {
      const bytes = utf8.encode(f.value);
      const pos = out.reserve(4 + bytes.length + 1, 4);
      out.scalar(pos, "u32", bytes.length);
      out.set(pos + 4, bytes);
      return pos;
    }
    case "vector": {
      const size = SCALAR_SIZES[f.type];
      // The elements follow the length and must be aligned to their size.
      out.reserve(0, Math.max(size, 4));
      if (size === 8) out.reserve(4);
      const pos = out.reserve(4 + size * f.values.length, 4);
      out.scalar(pos, "u32", f.values.length);
      f.values.forEach((v, i) => out.scalar(pos + 4 + size * i, f.type, v));
      return pos;
    }
    case "tables": {
      const pos = out.reserve(4 + 4 * f.tables.length, 4);
      out.scalar(pos, "u32", f.tables.length);
      f.tables.forEach((t, i) => out.link(pos + 4 + 4 * i, writeTable(out, t)));
      return pos;
    }
  }
}

/** Serializes `root` as a FlatBuffer, with a 4-character file `identifier` when given. */
export function writeFlatbuffer(root: FbTable, identifier?: string): Uint8Array {
  const out = new Output();
  out.reserve(identifier === undefined ? 4 : 8);
  if (identifier !== undefined) {
    if (identifier.length !== 4) throw new Error(`File identifier "${identifier}" needs 4 chars`);
    out.set(4, utf8.encode(identifier));
  }
  out.link(0, writeTable(out, root));
  return out.finish();
}
