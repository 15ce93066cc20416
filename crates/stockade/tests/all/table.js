// console.table over arrays, objects, mixed rows and a column filter; runtime.rs runs it in the guest and in node.
console.table([{ a: 1, b: "x" }, { a: 22, c: true }]);
console.table({ r1: { x: 1 }, r2: { y: [1, 2] } });
console.table([1, "two", { k: 3 }]);
console.table([{ a: 1, b: 2 }], ["b"]);
console.table("not tabular");
console.table([]);
