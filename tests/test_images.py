"""aalu_sk.images: one finder and decoder for label, query and datasets."""

import os

import numpy as np
import pytest
from PIL import Image

from aalu_sk.images import decode, find_images, read_image


def test_exif_rotated_file_is_read_upright(tmp_path):
    # 4 wide x 2 high, left half black, right half white; stored rotated
    # with EXIF orientation 6 ("rotate 90 CW to view"), so the upright
    # image is 2 wide x 4 high with black on top.
    upright = np.zeros((4, 2), np.uint8)
    upright[2:] = 255
    stored = Image.fromarray(np.rot90(upright, k=1).copy())  # 2 x 4 -> 4 x 2
    assert stored.size == (4, 2)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "r.jpg", exif=exif, quality=100)
    image, info = decode(tmp_path / "r.jpg", None, "L")
    assert (info["width"], info["height"]) == (2, 4)
    pixels = np.asarray(image)
    assert pixels[0].mean() < 40 and pixels[-1].mean() > 215


def test_rgba_palette_and_grayscale(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200                       # red, but fully transparent
    rgba[:2, :, 3] = 255                     # top half opaque
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png", 4, "RGB")
    assert out.shape == (4, 4, 3)
    assert (out[:2] == [200, 0, 0]).all()    # opaque red kept
    assert (out[2:] == 255).all()            # transparent -> white
    pal = Image.new("P", (4, 4), 1)
    pal.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    pal.save(tmp_path / "p.gif")
    assert (read_image(tmp_path / "p.gif", 4, "RGB") == [0, 0, 255]).all()
    Image.new("L", (6, 6), 77).save(tmp_path / "g.bmp")
    gray = read_image(tmp_path / "g.bmp", 3, "RGB")
    assert gray.shape == (3, 3, 3) and (gray == 77).all()
    assert read_image(tmp_path / "g.bmp", 3, "L").shape == (3, 3)
    wide = Image.fromarray(np.array([[0, 1000], [2000, 4000]], np.int32),
                           "I")
    wide.save(tmp_path / "w.tiff")
    assert read_image(tmp_path / "w.tiff", 2, "L").tolist() == \
        [[0, 63], [127, 255]]
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="junk.png"):
        read_image(tmp_path / "junk.png", 4)


def test_unknown_extensions_are_ignored_and_links_out_skipped(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    for name in ("a.PNG", "b.jpeg", "sub/c.webp", "d.txt", "e.png.bak",
                 "f.tif"):
        (root / name).write_bytes(b"")
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"")
    os.symlink(outside, root / "link.png")
    os.symlink(root / "a.PNG", root / "inside.png")
    files, skipped = find_images(root)
    assert [f.relative_to(root).as_posix() for f in files] == \
        ["a.PNG", "b.jpeg", "f.tif", "inside.png", "sub/c.webp"]
    assert [p for p, _ in skipped] == ["link.png"]
    assert "outside the folder" in skipped[0][1]
    files, skipped = find_images(root, follow_symlinks=True)
    assert "link.png" in [f.name for f in files] and not skipped
    assert [f.name for f in find_images(root, recursive=False)[0]] == \
        ["a.PNG", "b.jpeg", "f.tif", "inside.png"]


def test_non_utf8_file_name_is_skipped_not_fatal(tmp_path):
    bad = os.fsdecode(b"caf\xe9.png")
    Image.new("L", (4, 4)).save(tmp_path / bad, format="PNG")
    Image.new("L", (4, 4)).save(tmp_path / "ok.png")
    files, skipped = find_images(tmp_path)
    assert [f.name for f in files] == ["ok.png"]
    assert skipped == [("caf\\xe9.png", skipped[0][1])]
    assert "UTF-8" in skipped[0][1]


def test_label_and_query_see_the_same_files(tmp_path):
    from aalu_sk.cli.query import list_pool
    from aalu_sk.labeling.images import index_folder

    for k, name in enumerate(("x.png", "y.JPG", "z.gif", "sub/t.tiff",
                              "w.bmp", "v.webp")):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        Image.new("RGB", (5, 5), (k * 40, 10, 10)).save(path)
    (tmp_path / "readme.txt").write_text("no")
    ids, _ = list_pool(tmp_path)
    index = index_folder(tmp_path, size=4)
    assert index.paths == ids == ["sub/t.tiff", "v.webp", "w.bmp", "x.png",
                                  "y.JPG", "z.gif"]
