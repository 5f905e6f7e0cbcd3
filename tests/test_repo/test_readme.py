"""The README and docs/ cannot rot silently.

Every repository path they show exists (files and links on disk, link anchors as headings),
every command they show runs a script that exists with options that its ``--help`` lists,
every page of docs/ is linked from the README, and the README's project config is correct.
"""
import functools
import glob
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest
from helpers import REPO_ROOT

README = osp.join(REPO_ROOT, 'README.md')
DOCS = sorted(glob.glob(osp.join(REPO_ROOT, 'docs', '*.md')))
PAGES = [README] + DOCS + [osp.join(REPO_ROOT, 'examples', 'my_project', 'README.md')]
PAGE_IDS = [osp.relpath(p, REPO_ROOT) for p in PAGES]

FENCE = re.compile(r'^```(\w*)[^\n]*\n(.*?)^```', re.S | re.M)
SHELL = ('bash', 'sh', 'shell', 'console')
# a repository path as the pages write it (relative to the root; not inside another path)
REPO_PATH = re.compile(r'(?<![\w./~$-])((?:configs|docs|examples|mmtwins|requirements|tests|tools)'
                       r'/[\w./{},*-]*)')
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')
INLINE_CODE = re.compile(r'`([^`\n]+)`')
# a placeholder component (CONFIG, X, WORK_DIR), not a file name
PLACEHOLDER = re.compile(r'^[A-Z][A-Z0-9_]*(\.\w+)?$')
# sh scripts that pass their options on to a Python tool
SH_TOOLS = {'tools/dist_train.sh': 'tools/train.py', 'tools/slurm_train.sh': 'tools/train.py',
            'tools/dist_test.sh': 'tools/test.py', 'tools/slurm_test.sh': 'tools/test.py',
            'tools/quickstart.sh': 'tools/quickstart.py'}


def read(path):
    with open(path) as f:
        return f.read()


def split_fences(text):
    """(shell blocks, prose with the non-shell blocks removed, prose without any block)."""
    shell = [body for lang, body in FENCE.findall(text) if lang in SHELL]
    without_other = FENCE.sub(lambda m: m.group(0) if m.group(1) in SHELL else '', text)
    return shell, without_other, FENCE.sub('', text)


def expand_braces(path):
    m = re.search(r'\{([^{}]*)\}', path)
    if not m:
        return [path]
    return [p for alt in m.group(1).split(',')
            for p in expand_braces(path[:m.start()] + alt + path[m.end():])]


def is_placeholder(path):
    return '...' in path or '.mim' in path or any(
        PLACEHOLDER.match(part) and not part.startswith('README') for part in path.split('/'))


def repo_paths(page):
    """The repository paths a page shows in prose, inline code and shell blocks (not in
    Python or other blocks, which may name the hosts' files)."""
    _, text, _ = split_fences(read(page))
    paths = set()
    for raw in REPO_PATH.findall(text):
        path = raw.rstrip('.,:;')
        if not is_placeholder(path):
            paths.add(path)
    return sorted(paths)


def exists(path, roots):
    """Every expansion of ``path`` exists under one of ``roots`` (globs: matches something)."""
    def found(p):
        return any(glob.glob(osp.join(root, p)) if '*' in p else osp.exists(osp.join(root, p))
                   for root in roots)
    return all(found(p) for p in expand_braces(path))


@pytest.mark.parametrize('page', PAGES, ids=PAGE_IDS)
def test_paths_exist(page):
    # relative to the repository, or (examples/my_project) to the page's own directory
    roots = {REPO_ROOT, osp.dirname(page)}
    missing = [p for p in repo_paths(page) if not exists(p, roots)]
    assert not missing, f'{osp.relpath(page, REPO_ROOT)} shows paths that do not exist: {missing}'


def test_mmtwins_config_names_exist():
    for page in PAGES:
        for name in re.findall(r'mmtwins::([\w/]+\.py)', read(page)):
            if not is_placeholder(name):
                assert osp.isfile(osp.join(REPO_ROOT, 'configs', name)), (page, name)


def slug(heading):
    """GitHub's anchor of a heading."""
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return text.replace(' ', '-')


@functools.lru_cache(maxsize=None)
def anchors(page):
    _, _, prose = split_fences(read(page))
    seen, result = {}, set()
    for heading in re.findall(r'^#{1,6}\s+(.+?)\s*$', prose, re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        result.add(base if n == 0 else f'{base}-{n}')
    return result


def links(page):
    _, _, prose = split_fences(read(page))
    prose = INLINE_CODE.sub('', prose)
    return [t for t in LINK.findall(prose) if not re.match(r'(https?|mailto):', t)]


@pytest.mark.parametrize('page', PAGES, ids=PAGE_IDS)
def test_links_resolve(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition('#')
        full = osp.normpath(osp.join(osp.dirname(page), path)) if path else page
        if not osp.exists(full):
            broken.append(target)
        elif anchor and full.endswith('.md') and anchor not in anchors(full):
            broken.append(target)
    assert not broken, f'{osp.relpath(page, REPO_ROOT)}: broken links {broken}'


def test_every_docs_page_is_linked_from_the_readme():
    linked = {osp.normpath(osp.join(REPO_ROOT, t.partition('#')[0])) for t in links(README)}
    assert DOCS
    assert not [p for p in DOCS if p not in linked], 'docs/ pages the README does not link'


def commands(page):
    """Command lines: the lines of shell blocks (continuations joined) and inline code."""
    shell, _, prose = split_fences(read(page))
    lines = []
    for body in shell:
        for line in body.replace('\\\n', ' ').splitlines():
            lines.append(re.sub(r'(^|\s)#.*', '', line))
    lines += INLINE_CODE.findall(prose)
    return [seg for line in lines for seg in re.split(r'&&|;|\|\|', line) if seg.strip()]


def invocation(command):
    """(kind, name, long options) of the mmtwins tool a command runs, or None."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    for i, word in enumerate(words):
        m = re.search(r'(?:^|/)(tools/[\w/]+\.(?:py|sh))$', word)
        if m and '.mim' not in word:
            kind, name = 'script', m.group(1)
        elif word == '-m' and i + 1 < len(words) and words[i + 1].startswith('mmtwins.'):
            kind, name = 'module', words[i + 1]
        elif re.fullmatch(r'mmtwins-(train|test|demo)', word):
            kind, name = 'module', 'mmtwins.cli.' + word.split('-')[1]
        else:
            continue
        options = {w.lstrip('[').split('=')[0].rstrip(']') for w in words[i + 1:]
                   if re.match(r'\[?--[a-zA-Z]', w)}
        return kind, name, options
    return None


def all_invocations():
    found = {}
    for page in PAGES:
        for command in commands(page):
            inv = invocation(command)
            if inv:
                found.setdefault(inv[:2], set()).update(inv[2])
    return found


def module_file(name):
    base = osp.join(REPO_ROOT, *name.split('.'))
    return next((p for p in (base + '.py', osp.join(base, '__main__.py')) if osp.isfile(p)), None)


def test_the_pages_show_commands():
    found = all_invocations()
    assert ('script', 'tools/quickstart.sh') in found and ('script', 'tools/run_tests.sh') in found
    assert ('script', 'tools/train.py') in found and ('script', 'tools/test.py') in found
    assert ('module', 'mmtwins.cli.train') in found


@functools.lru_cache(maxsize=None)
def help_text(kind, name):
    args = [name] if kind == 'script' else ['-m', name]
    proc = subprocess.run([sys.executable] + args + ['--help'], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f'{name} --help failed:\n{proc.stderr[-2000:]}'
    return proc.stdout


def bare_options(page):
    """Options the prose names on their own (`--work-dir`, `--resume [CKPT]`)."""
    _, _, prose = split_fences(read(page))
    return {m.group(1) for code in INLINE_CODE.findall(prose)
            for m in [re.match(r'\[?(--[a-zA-Z][\w-]*)', code)] if m}


@pytest.mark.slow  # the tools' --help in subprocesses
def test_commands_use_existing_scripts_and_options():
    problems, helps = [], []
    for (kind, name), options in sorted(all_invocations().items()):
        if kind == 'script' and not osp.isfile(osp.join(REPO_ROOT, name)):
            problems.append(f'{name} does not exist')
            continue
        if kind == 'module' and module_file(name) is None:
            problems.append(f'python -m {name}: no such module in the repository')
            continue
        if kind == 'script' and name.endswith('.sh'):
            if name not in SH_TOOLS:
                continue
            kind, name = 'script', SH_TOOLS[name]
        if not options:
            continue
        text = help_text(kind, name)
        helps.append(text)
        problems += [f'{name}: {opt} is not in its --help' for opt in sorted(options)
                     if not has_option(text, opt)]
    # an option named on its own belongs to one of the tools the pages run
    for page in PAGES:
        problems += [f'{osp.relpath(page, REPO_ROOT)}: {opt} is in the --help of no tool'
                     for opt in sorted(bare_options(page))
                     if not any(has_option(text, opt) for text in helps)]
    assert not problems, '\n'.join(problems)


def has_option(help_text, option):
    return re.search(r'(?<![\w-])' + re.escape(option) + r'(?![\w-])', help_text) is not None


@pytest.mark.filterwarnings('ignore:`reduce_zero_label` will be deprecated')  # mmseg's ADE pipeline
def test_readme_project_config_is_consistent(tmp_path):
    """The README's own-project config loads, and its classes, palette and heads agree."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    import mmtwins  # noqa: F401 (mmtwins:: configs)
    blocks = [body for lang, body in FENCE.findall(read(README))
              if lang == 'python' and "_base_ = ['mmtwins::" in body and 'num_classes' in body]
    assert len(blocks) == 1
    config = tmp_path / 'my_config.py'
    config.write_text(blocks[0])
    cfg = Config.fromfile(str(config))
    heads = {cfg.model.decode_head.num_classes, cfg.model.auxiliary_head.num_classes}
    init_default_scope(cfg.default_scope)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = DATASETS.build(dict(cfg[loader].dataset, lazy_init=True))
        classes, palette = dataset.metainfo['classes'], dataset.metainfo['palette']
        assert heads == {len(classes)} and len(palette) == len(classes), loader
        assert dataset.label_map is None, f'{loader}: labels would be remapped'


@pytest.mark.slow  # the tools' --help in subprocesses
def test_options_said_of_train_and_test_are_theirs():
    """docs/usage.md's option table and the README's sentence about tools/train.py and
    tools/test.py: an option said of both is in both --help texts, one marked (train)/(test)
    or listed under training/testing in the named tool's."""
    helps = {tool: help_text('script', f'tools/{tool}.py') for tool in ('train', 'test')}
    problems = []
    table = [ln for ln in read(osp.join(REPO_ROOT, 'docs', 'usage.md')).splitlines()
             if re.match(r'^\| `--', ln)]
    assert len(table) >= 8
    for row in table:
        cell = row.split('|')[1]
        option = re.match(r' `(--[\w-]+)', cell).group(1)
        tools = [t for t in ('train', 'test') if f'({t})' in cell] or ['train', 'test']
        problems += [f'usage.md: {option} is not in tools/{t}.py --help' for t in tools
                     if not has_option(helps[t], option)]
    sentence = re.search(r'\(both: (.*?); training: (.*?); testing: (.*?)\)',
                         ' '.join(read(README).split()))
    assert sentence, 'README: the sentence naming the options of both tools'
    for group, tools in zip(sentence.groups(), (('train', 'test'), ('train',), ('test',))):
        for option in re.findall(r'`(--[\w-]+)`', group):
            problems += [f'README: {option} is not in tools/{t}.py --help' for t in tools
                         if not has_option(helps[t], option)]
    assert not problems, '\n'.join(problems)
