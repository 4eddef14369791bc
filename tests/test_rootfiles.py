from crawler.rootfiles import classify


def names(*items: str):
    return [(n.rstrip("/"), "tree" if n.endswith("/") else "blob") for n in items]


def test_common_names_are_recognised_whatever_the_case():
    files = classify(
        names("Readme.MD", "LICENCE", "CONTRIBUTING.rst", "CHANGELOG", "publiccode.yaml")
    )
    assert files.has_readme and files.has_licence_file and files.has_contributing
    assert files.has_changelog and files.has_publiccode


def test_french_and_variant_names():
    files = classify(names("LISEZMOI.md", "COPYING.LESSER", "HISTORY.txt", "contribuer.md"))
    assert files.has_readme and files.has_licence_file and files.has_changelog
    assert files.has_contributing


def test_reuse_licences_folder_counts_as_licence_file():
    assert classify(names("LICENSES/", "src/")).has_licence_file


def test_lookalikes_do_not_count():
    files = classify(
        names(
            "readme_images/",
            "licensing.py",
            "src/",
            "changelog-tool.sh",
            "publiccode.yml.example",
            "README/",
        )
    )
    assert not any(
        [files.has_readme, files.has_licence_file, files.has_changelog, files.has_publiccode]
    )


def test_licence_files_most_likely_first():
    files = classify(names("COPYING", "LICENSE.md", "LICENSE", "LICENSE-APACHE"))
    assert files.licence_files[0] == "LICENSE"
    assert set(files.licence_files) == {"COPYING", "LICENSE.md", "LICENSE", "LICENSE-APACHE"}


def test_empty_tree():
    files = classify([])
    assert not files.has_readme and files.licence_files == ()
