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


def test_where_to_look_next_when_the_root_says_nothing():
    files = classify(
        names("LICENSES/", "Cargo.toml", "package.json", "setup.cfg", "publiccode.yml", "src/")
    )
    assert files.licence_files == ()
    assert files.licence_dirs == ("LICENSES",)
    # Manifests come in the order they are tried, whatever the tree's order.
    assert files.manifests == ("package.json", "setup.cfg", "Cargo.toml")
    assert files.publiccode_files == ("publiccode.yml",)


def test_manifests_only_under_their_exact_names():
    files = classify(names("Package.json", "cargo.toml", "POM.xml", "composer.json"))
    assert files.manifests == ("composer.json",)


def test_publiccode_yml_comes_before_a_yaml_spelling():
    files = classify(names("publiccode.yaml", "publiccode.yml"))
    assert files.publiccode_files == ("publiccode.yml", "publiccode.yaml")
    assert classify(names("publiccode/")).has_publiccode is False
