"""models/taxonomy.py: the COCO-80 -> Rekognition label table."""
from __future__ import annotations

import json
from importlib import resources

import pytest

from models.taxonomy import LabelInfo, all_labels, label_for, parent_label

COCO_80 = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
]

# Rekognition's label categories (label model 3.0).
REKOGNITION_CATEGORIES = {
    "Animals and Pets", "Apparel and Accessories", "Beauty and Personal Care", "Buildings and Architecture",
    "Colors and Visual Composition", "Damage Detection", "Education", "Everyday Objects",
    "Expressions and Emotions", "Food and Beverage", "Furniture and Furnishings", "Health and Fitness",
    "Home and Indoors", "Home Appliances", "Hobbies and Interests", "Kitchen and Dining", "Materials",
    "Medical", "Nature and Outdoors", "Offices and Workspaces", "Patterns and Shapes", "Person Description",
    "Plants and Flowers", "Popular Landmarks", "Public Safety", "Religion", "Sports", "Symbols and Flags",
    "Technology and Computing", "Text and Documents", "Tools and Machinery", "Toys and Gaming",
    "Transport and Logistics", "Travel and Adventure", "Vehicles and Automotive", "Weapons and Military",
}


def test_all_80_coco_classes_and_nothing_else():
    labels = all_labels()
    assert len(COCO_80) == 80
    assert set(labels) == set(COCO_80)
    assert all(isinstance(info, LabelInfo) for info in labels.values())


def test_car_person_dog():
    assert label_for("car") == LabelInfo("Car", ("Vehicle", "Transportation"), ("Automobile",),
                                         ("Vehicles and Automotive",))
    assert label_for("person") == LabelInfo("Person", (), ("Human",), ("Person Description",))
    dog = label_for("dog")
    assert dog.name == "Dog"
    assert dog.parents == ("Animal", "Canine", "Mammal", "Pet")
    assert dog.categories == ("Animals and Pets",)


def test_rekognition_wording():
    assert label_for("cell phone").name == "Mobile Phone"
    assert "Cell Phone" in label_for("cell phone").aliases
    assert label_for("traffic light").name == "Traffic Light"
    assert label_for("sports ball").name == "Ball"
    assert label_for("dining table").name == "Dining Table"
    assert label_for("tv").aliases == ("Television",)


@pytest.mark.parametrize("coco", COCO_80)
def test_entry_is_well_formed(coco):
    info = label_for(coco)
    assert info.name and info.name == info.name.strip()
    assert info.name[0].isupper() and all(word[0].isupper() for word in info.name.split())
    assert info.name not in info.parents, "a label is never its own parent"
    assert len(set(info.parents)) == len(info.parents)
    assert info.name not in info.aliases
    assert info.categories and set(info.categories) <= REKOGNITION_CATEGORIES
    for parent in info.parents:
        # every parent is described, and its own ancestors are among the child's
        assert set(parent_label(parent).parents) <= set(info.parents), parent


def test_parent_labels_are_consistent():
    names = {info.name for info in all_labels().values()}
    for info in all_labels().values():
        for parent in info.parents:
            ancestor = parent_label(parent)
            assert ancestor.name == parent and parent not in ancestor.parents
            assert set(ancestor.categories) <= REKOGNITION_CATEGORIES
            assert parent not in names, "no COCO label is another one's parent"
    assert parent_label("Vehicle").parents == ("Transportation",)
    assert parent_label("Canine").parents == ("Animal", "Mammal")


def test_unknown_names_raise_clear_key_error():
    with pytest.raises(KeyError, match="unknown COCO class name 'spaceship'"):
        label_for("spaceship")
    with pytest.raises(KeyError):
        parent_label("Spaceship")


def test_lookup_is_cached_and_tolerant_of_spelling():
    assert label_for("car") is label_for("car")
    assert label_for("cell_phone") is label_for("cell phone")
    assert label_for(" Car ") is label_for("car")
    labels = all_labels()
    labels.clear()  # callers get a copy
    assert len(all_labels()) == 80


def test_table_ships_as_package_data():
    text = resources.files("models").joinpath("data").joinpath("coco_labels.json").read_text(encoding="utf-8")
    assert set(json.loads(text)["classes"]) == set(COCO_80)


# --------------------------------------------------------------------------------------------
# ImageNet-1k -> the same names (models/data/imagenet_labels.json)


def test_imagenet_table_has_1000_unique_keys():
    from models.taxonomy import imagenet_class_names

    keys = imagenet_class_names()
    assert len(keys) == 1000 == len(set(keys))
    assert keys[0] == "tench" and keys[207] == "golden retriever" and keys[999] == "toilet tissue"
    assert keys[134] == "crane [134]" and keys[517] == "crane [517]"  # ImageNet repeats these names


def test_imagenet_classes_hang_below_the_coco_labels():
    from models.taxonomy import imagenet_label_for

    golden = imagenet_label_for("golden retriever")
    assert golden.name == "Golden Retriever"
    assert golden.parents == ("Dog", *label_for("dog").parents)
    assert golden.categories == ("Animals and Pets",)
    assert imagenet_label_for("tabby").parents[0] == "Cat"
    assert imagenet_label_for("sports car").parents == ("Car", "Vehicle", "Transportation")
    assert imagenet_label_for("water bottle").parents == ("Bottle",)
    # a class that is a COCO class is that label, parents and all
    assert imagenet_label_for("cellular telephone") == LabelInfo(
        "Mobile Phone", label_for("cell phone").parents, ("Cell Phone",), label_for("cell phone").categories)
    assert imagenet_label_for("zebra") == label_for("zebra")


def test_imagenet_scenes_and_things_coco_lacks():
    from models.taxonomy import imagenet_label_for

    alp, seashore = imagenet_label_for("alp"), imagenet_label_for("seashore")
    assert alp.name == "Mountain" and "Alp" in alp.aliases and alp.categories == ("Nature and Outdoors",)
    assert seashore.name == "Shoreline" and "Seashore" in seashore.aliases and "Water" in seashore.parents
    assert imagenet_label_for("acoustic guitar").parents == ("Guitar", "Musical Instrument")
    assert imagenet_label_for("lawn mower").name == "Lawn Mower"
    with pytest.raises(KeyError, match="unknown ImageNet class key"):
        imagenet_label_for("spaceship")


def test_every_imagenet_label_is_well_formed_and_its_parents_are_described():
    from models.taxonomy import imagenet_class_names, imagenet_label_for, label_info

    for key in imagenet_class_names():
        info = imagenet_label_for(key)
        assert info.name and info.name not in info.parents, key
        assert info.categories and set(info.categories) <= REKOGNITION_CATEGORIES, key
        assert len(set(info.parents)) == len(info.parents), key
        for parent in info.parents:
            # every ancestor is a label of its own, and its ancestors are among the child's
            assert set(label_info(parent).parents) <= set(info.parents), (key, parent)
        assert label_info(info.name).name == info.name
