// an array of strings

console.table(["apples", "oranges", "bananas"]);
