const url = new URL("../cats", "http://www.example.com/dogs");
url.hash = "tabby";
console.log(url.href); // "http://www.example.com/cats#tabby"
