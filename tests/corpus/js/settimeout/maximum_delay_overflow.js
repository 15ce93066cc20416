setTimeout(() => console.log("hi!"), 2 ** 32 - 5000);
