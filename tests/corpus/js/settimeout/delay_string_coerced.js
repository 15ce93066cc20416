setTimeout(() => {
  console.log("Delayed for 1 second.");
}, "1 second");
