"""Counts lines of code in a Rust source tree: not blank, not a comment, not in a trailing
`#[cfg(test)] mod tests { ... }` block. Usage: python3 scripts/code-lines.py DIR..."""
import os,re,sys
def count(root):
    n=0
    for d,_,fs in os.walk(root):
        for f in fs:
            if not f.endswith('.rs'): continue
            t=open(os.path.join(d,f)).read()
            # drop #[cfg(test)] mod tests { ... } blocks at end of file and `mod tests;`
            i=t.find('#[cfg(test)]\nmod tests {')
            if i>=0: t=t[:i]
            for l in t.split('\n'):
                s=l.strip()
                if not s or s.startswith('//'): continue
                n+=1
    return n
for r in sys.argv[1:]: print(r, count(r))
