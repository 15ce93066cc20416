const transformedObj1 =JSON.parse(
  '[1,5,{"s":1}]',
  (key, value) =>
    {return typeof value === "object" ? undefined : value}
);

console.log(transformedObj1) // undefined
