function log(text) {
  console.log(text);
}

if ("parse" in URL) {
  // Relative URL resolved to valid base URL
  let result = URL.parse("en-US/docs", "https://developer.mozilla.org");
  log(`[1]: ${result.href}`);

  // Relative URL resolved to "complicated" valid base URL
  // (only the scheme and domain are used to resolve url)
  result = URL.parse(
    "/different/place",
    "https://developer.mozilla.org:443/some/path?id=4",
  );
  log(`[2]: ${result.href}`);

  // Absolute url argument (base URL ignored)
  result = URL.parse(
    "https://example.org/some/docs",
    "https://developer.mozilla.org",
  );
  log(`[3]: ${result.href}`);

  // Invalid base URL (missing colon)
  result = URL.parse("en-US/docs", "https//developer.mozilla.org");
  log(`[4]: ${result}`);
} else {
  log("URL.parse() not supported");
}

if ("parse" in URL) {
  // Relative URL with base URL supplied as a URL object
  result = URL.parse("/en-US/docs", new URL("https://developer.mozilla.org/"));
  log(`[5]: ${result.href}`);
}
