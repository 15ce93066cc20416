const url = new URL("https://developer.mozilla.org/en-US/docs/Web/API/URL/toString");
console.log(url.toJSON()); // should return the URL as a string
