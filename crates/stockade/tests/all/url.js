// URL parsing of odd inputs and URLSearchParams; runtime.rs runs it in the guest and in node.
const cases = [
  ["https://Example.COM:443/a/./b/../c?x=1 2#frag ment"], ["http://user:p@ss@host:8080/p"], ["HTTP://0x7f.1/"],
  ["http://[::FFFF:127.0.0.1]:80/"], ["http://[2001:db8:0:0:1:0:0:1]/"], ["http://münchen.de/straße"],
  ["http://example.com/%7Efoo/ä?q=ä#ä"], ["  http://example.com/\t\n  "], ["http:\\\\example.com\\a\\b"],
  ["mailto:Someone@Example.com"], ["data:text/plain,hello world"], ["file:///C:/Windows/../x"],
  ["http://example.com:99999/"], ["http://exa mple.com/"], ["not a url"], ["http://"], ["http://1.2.3.256/"],
  ["../x?y", "http://a/b/c/d;p?q"], ["g", "http://a/b/c/d;p?q"], ["?y", "http://a/b/c/d;p?q"], ["#s", "http://a/b/c/d;p?q"],
  ["//g", "http://a/b/c/d;p?q"], ["/./g", "http://a/b/c/d;p?q"], ["../../../../g", "http://a/b/c/d;p?q"],
  ["", "http://a/b/c/d;p?q#f"], ["https://a.b/c", "http://x/"], ["http:g", "http://a/b/c"],
  ["ws://h:80/"], ["wss://h:443/x"], ["ftp://h:21/"], ["http://h/a%2fb/%2e%2E/c"], ["https://h/?a=1&b=2&a=3"],
  ["http://h/?q='x'"], ["foo://H.com/P?Q#F"], ["http://example.com/path with spaces"], ["http://h/x?%zz"],
  ["http://a.b.c.d.e/"], ["http://[::1]/"], ["http://[1:2:3:4:5:6:7:8]/"], ["http://[::]/"], ["http://0/"],
  ["http://4294967295/"], ["http://4294967296/"], ["http://012.0x10.3/"],
];
for (const [input, base] of cases) {
  let out;
  try {
    const u = base === undefined ? new URL(input) : new URL(input, base);
    out = [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash].join(" | ");
  } catch (e) { out = e.name; }
  console.log(JSON.stringify(input), base ?? "", "=>", out);
}
const u = new URL("https://h/p?a=1&b=x%20y");
u.searchParams.append("c", "d e&f");
u.searchParams.set("a", "2");
u.searchParams.delete("b");
console.log(u.href, [...u.searchParams].join(";"), u.searchParams.size);
u.search = "?z=9"; console.log(u.searchParams.get("z"), u.href);
u.hash = "top"; u.pathname = "/new path/x"; u.port = "8443"; console.log(u.href, JSON.stringify({ u }));
const p = new URLSearchParams({ b: "2", a: "1 +", c: "ü" });
p.sort(); console.log(p.toString(), p.has("a"), p.getAll("a"), new URLSearchParams("?x=1&x=2&y").getAll("x"), new URLSearchParams([["k", "v"]]).toString());
console.log(URL.canParse("nope"), URL.canParse("/x", "http://h"));
