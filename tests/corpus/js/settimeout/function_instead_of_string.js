// Do this instead
setTimeout(() => {
  console.log("Hello World!");
}, 500);
