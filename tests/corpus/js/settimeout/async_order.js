setTimeout(() => {
  console.log("this is the first message");
}, 50);
setTimeout(() => {
  console.log("this is the second message");
}, 30);
setTimeout(() => {
  console.log("this is the third message");
}, 10);

// Output:

// this is the third message
// this is the second message
// this is the first message
