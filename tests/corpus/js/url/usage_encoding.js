const url = new URL("../cats", "http://www.example.com/dogs");
url.pathname = "démonstration.html";
console.log(url.href); // "http://www.example.com/d%C3%A9monstration.html"
