# Texts of this area; every key here has its twin, with the same placeholders, in the other language.
