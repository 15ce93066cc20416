const url = new URL("https://example.com:80/svn/Repos/");
console.log(url.port); // Logs '80'
