/**
 * Uniform structs of scalar fields: one field list gives both the WGSL struct text and the
 * packing of values into `GpuProgram.uniforms`, so the two cannot drift apart. Scalars only
 * (u32, i32, f32): every field is 4 bytes with 4-byte alignment, so WGSL's layout is the
 * declaration order with no padding.
 *
 * @module
 */

/** WGSL scalar types a uniform field may have. */
export type UniformScalar = "u32" | "i32" | "f32";

/** Field names mapped to their scalar types, in declaration order. */
export type UniformFields = Readonly<Record<string, UniformScalar>>;

/** A uniform struct: its WGSL declaration and a packer for its values. */
export interface UniformLayout<F extends UniformFields> {
  /** WGSL `struct <name> { ... }` declaration. */
  readonly struct: string;
  /** Packs one value per field, in declaration order, checking each fits its type. */
  pack(values: { readonly [K in keyof F]: number }): Uint32Array;
}

/**
 * Declares a uniform struct named `name` with `fields` (declaration order = key order).
 *
 * @example
 * ```ts
 * const layout = uniformLayout("Params", { length: "u32", alpha: "f32" });
 * layout.struct; // "struct Params { length: u32, alpha: f32 }"
 * layout.pack({ length: 7, alpha: 0.5 });
 * ```
 */
export function uniformLayout<F extends UniformFields>(name: string, fields: F): UniformLayout<F> {
  const entries = Object.entries(fields);
  const struct = `struct ${name} { ${entries.map(([k, t]) => `${k}: ${t}`).join(", ")} }`;
  return {
    struct,
    pack(values) {
      const words = new Uint32Array(entries.length);
      const ints = new Int32Array(words.buffer);
      const floats = new Float32Array(words.buffer);
      entries.forEach(([key, type], i) => {
        const v = (values as Record<string, number>)[key];
        if (typeof v !== "number") throw new Error(`Uniform "${key}" of ${name} has no value`);
        if (type === "f32") {
          floats[i] = v;
        } else if (type === "u32") {
          if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
            throw new Error(`Uniform "${key}" of ${name} is ${v}, not a u32`);
          }
          words[i] = v;
        } else {
          if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
            throw new Error(`Uniform "${key}" of ${name} is ${v}, not an i32`);
          }
          ints[i] = v;
        }
      });
      return words;
    },
  };
}
