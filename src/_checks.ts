/**
 * Checks shared by the public functions' options: each throws a `TypeError`
 * or `RangeError` that names the function's action and the option, and shows
 * a short, secret-free description of the bad value.
 *
 * @module
 */

/**
 * A short description of a value for an error message: strings are quoted
 * and cut to 64 characters, so a secret passed in the wrong option is not
 * printed whole; other values are described by their type.
 *
 * @param value The value.
 * @returns Its description.
 */
export function describe(value: unknown): string {
  if (typeof value === "string") {
    return value.length > 64
      ? `${JSON.stringify(value.slice(0, 32))}…(${value.length} characters)`
      : JSON.stringify(value);
  }
  if (typeof value === "number" || typeof value === "boolean" || value == null) {
    return String(value);
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "an invalid Date" : "a Date";
  if (Array.isArray(value)) return "an array";
  return `a value of type ${typeof value}`;
}

/**
 * Checks that an options argument is a plain object, or absent.
 *
 * @param action What the caller was doing, such as `Cannot use web identity`.
 * @param value The options argument.
 * @param name How to call it in the message.
 * @returns The options, or an empty object when absent.
 * @throws {TypeError} When it is not an object.
 */
export function optionsObject<T extends object>(
  action: string,
  value: T | undefined,
  name = "options",
): T {
  if (value === undefined) return {} as T; // every caller's options are all optional
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${action}: '${name}' must be an object, got ${describe(value)}`);
  }
  return value;
}

/**
 * Checks that an optional option is a function.
 *
 * @param action What the caller was doing.
 * @param name The option's name.
 * @param value Its value.
 * @throws {TypeError} When it is given and not a function.
 */
export function optionalFunction(action: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`${action}: '${name}' must be a function, got ${describe(value)}`);
  }
}

/**
 * Checks that an optional environment object is a plain object of strings.
 *
 * @param action What the caller was doing.
 * @param value The `env` option.
 * @throws {TypeError} When it is given and not an object.
 */
export function optionalEnv(action: string, value: unknown): void {
  if (
    value !== undefined && (value === null || typeof value !== "object" || Array.isArray(value))
  ) {
    throw new TypeError(
      `${action}: 'env' must be an object of variables (such as a Worker's bindings), got ${
        describe(value)
      }`,
    );
  }
}
