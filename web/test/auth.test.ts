import { describe, expect, it } from "vitest";
import { apiBase, takeToken } from "../src/auth";
import { backoffDelay } from "../src/live";

class MemoryStorage implements Storage {
  private items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

describe("takeToken", () => {
  it("keeps the fragment's token and clears it from the address bar", () => {
    const storage = new MemoryStorage();
    const cleared: string[] = [];
    const token = takeToken({ hash: "#token=abc.def.ghi", pathname: "/", search: "?api=x" }, storage, (u) => cleared.push(u));
    expect(token).toBe("abc.def.ghi");
    expect(cleared).toEqual(["/?api=x"]);
    // A reload finds it in sessionStorage, with no fragment left.
    expect(takeToken({ hash: "", pathname: "/", search: "" }, storage, (u) => cleared.push(u))).toBe("abc.def.ghi");
    expect(cleared).toHaveLength(1);
  });

  it("has no token without one", () => {
    expect(takeToken({ hash: "", pathname: "/", search: "?token=leaky" }, new MemoryStorage(), () => {})).toBeNull();
  });
});

describe("apiBase", () => {
  it("is the page's origin unless ?api= names another", () => {
    expect(apiBase("", "http://127.0.0.1:50051")).toBe("http://127.0.0.1:50051");
    expect(apiBase("?api=http://localhost:50051", "http://localhost:5173")).toBe("http://localhost:50051");
    expect(apiBase("?api=http://localhost:50051/", "http://x")).toBe("http://localhost:50051");
    expect(apiBase("?api=javascript:alert(1)", "http://x")).toBe("http://x");
    expect(apiBase("?api=http://host/path", "http://x")).toBe("http://x");
  });
});

describe("backoffDelay", () => {
  it("doubles from half a second up to eight, with up to a fifth off", () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, 0))).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
    expect(backoffDelay(0, 1)).toBe(400);
  });
});
