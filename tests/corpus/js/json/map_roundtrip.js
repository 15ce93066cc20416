// Maps are normally serialized as objects with no properties.
// We can use the replacer to specify the entries to be serialized.
const map = new Map([
  [1, "one"],
  [2, "two"],
  [3, "three"],
]);

const jsonText = JSON.stringify(
  map,
  (key, value) => (value instanceof Map ? Array.from(value.entries()) : value),
);

console.log(jsonText);
// [[1,"one"],[2,"two"],[3,"three"]]

const map2 = JSON.parse(
  jsonText,
  (key, value) => (key === "" ? new Map(value) : value),
);

console.log(map2);
// Map { 1 => "one", 2 => "two", 3 => "three" }
