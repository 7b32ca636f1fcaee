// isolated-vm lets an isolate build code from strings (it refuses only huge ones), so the
// runtime removes the ways to do it: eval and the Function, AsyncFunction, GeneratorFunction
// and AsyncGeneratorFunction constructors, reached by name or through any function's
// .constructor. Nothing escapes the isolate either way; this keeps tool code to the code that
// was compiled, checked and reviewed. `instanceof Function` keeps working.

const refuse = (): never => {
  throw new EvalError("Code generation from strings disallowed for this context");
};

export function tameCodeGeneration(): void {
  const constructors = [
    Function,
    Object.getPrototypeOf(async () => {}).constructor,
    Object.getPrototypeOf(function* () {}).constructor,
    Object.getPrototypeOf(async function* () {}).constructor,
  ] as { prototype: object }[];
  for (const original of constructors) {
    const tamed = function tamedConstructor() {
      refuse();
    };
    Object.defineProperty(tamed, "prototype", { value: original.prototype, writable: false });
    Object.defineProperty(original.prototype, "constructor", { value: tamed, writable: false, configurable: false });
    if (original === Function) {
      Object.defineProperty(globalThis, "Function", { value: tamed, writable: false, configurable: false });
    }
  }
  Object.defineProperty(globalThis, "eval", {
    value: function evaluate() {
      refuse();
    },
    writable: false,
    configurable: false,
  });
}
