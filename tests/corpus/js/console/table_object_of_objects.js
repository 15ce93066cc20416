function Person(firstName, lastName) {
  this.firstName = firstName;
  this.lastName = lastName;
}

// an object whose properties are objects

const family = {};

family.mother = new Person("Janet", "Jones");
family.father = new Person("Tyrone", "Jones");
family.daughter = new Person("Maria", "Jones");

console.table(family);
