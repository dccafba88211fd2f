import os,re,sys
"""Lists import cycles in a crate's source: groups of modules that import each other, between
top-level modules and between files (a module's own children and ancestors do not count: they
are its declarations and re-exports). Test modules are left out. Exit status 1 if any.

Usage: python3 scripts/import-cycles.py core/src [-v]"""
root=sys.argv[1]
def modpath(p):
    rel=os.path.relpath(p,root)[:-3].split(os.sep)
    if rel[-1] in ('mod','lib'): rel=rel[:-1]
    return tuple(rel)
files={}
for d,_,fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            p=os.path.join(d,f); mp=modpath(p)
            if 'tests' in mp or 'fuzz_targets' in mp or mp and mp[-1]=='tests': continue
            files[mp]=p
known=set(files)
def resolve(parts):
    for k in range(len(parts),0,-1):
        if tuple(parts[:k]) in known: return tuple(parts[:k])
    return None
edges={}
for mp,p in files.items():
    src=re.sub(r'//[^\n]*','',open(p).read())
    # drop cfg(test) mod blocks roughly
    src=src.split('#[cfg(test)]\nmod tests {')[0]
    refs=[]
    for m in re.finditer(r'crate::((?:[a-z_0-9]+::)*[A-Za-z_0-9]+)',src):
        refs.append(m.group(1).split('::'))
    for m in re.finditer(r'\bsuper::((?:super::)*)((?:[a-z_0-9]+::)*[A-Za-z_0-9{]+)',src):
        ups=1+m.group(1).count('super::')
        base=list(mp[:-ups]) if len(mp)>=ups else []
        refs.append(base+m.group(2).split('::'))
    for m in re.finditer(r'\buse self::([a-z_0-9]+)',src):
        refs.append(list(mp)+[m.group(1)])
    for r in refs:
        t=resolve([x for x in r if x and x!='{'])
        if t is None or t==mp: continue
        if mp[:len(t)]==t or t[:len(mp)]==mp: continue  # ancestor/descendant
        edges.setdefault(mp,set()).add(t)
idx={};low={};st=[];on=set();sccs=[];c=[0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
    for w in edges.get(v,()):
        if w not in idx: sc(w);low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],idx[w])
    if low[v]==idx[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v:break
        sccs.append(comp)
def report(edges, known, label):
    idx.clear();low.clear();st.clear();on.clear();sccs.clear();c[0]=0
    def sc(v):
        idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
        for w in edges.get(v,()):
            if w not in idx: sc(w);low[v]=min(low[v],low[w])
            elif w in on: low[v]=min(low[v],idx[w])
        if low[v]==idx[v]:
            comp=[]
            while True:
                w=st.pop();on.discard(w);comp.append(w)
                if w==v:break
            sccs.append(comp)
    for v in sorted(known):
        if v not in idx: sc(v)
    cyc=[s for s in sccs if len(s)>1]
    print(label, len(cyc))
    for s in cyc:
        print("  ",sorted('::'.join(x) for x in s))
        if '-v' in sys.argv:
            for a in s: print("      ",'::'.join(a),'->',sorted('::'.join(x) for x in edges.get(a,()) if x in s))
    return len(cyc)
top={}
for a,bs in edges.items():
    for b in bs:
        if a[:1]!=b[:1]: top.setdefault(a[:1],set()).add(b[:1])
n=report(top,{k[:1] for k in known},"import cycles between top-level modules:")
n+=report(edges,known,"import cycles between modules (files):")
sys.exit(1 if n else 0)
