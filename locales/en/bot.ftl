# Texts of this area; every key here has its twin, with the same placeholders, in the other language.
bot-failed = Sorry, that failed on my side. The service's log has the details under reference { $reference }.
button-not-ours = Not allowed: this button is no longer valid here. /alerts and the lists give current ones.
