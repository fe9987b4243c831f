import P22PWire
